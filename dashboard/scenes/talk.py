"""Reads a talk, a TOML file of scenes, and refuses a bad one whole, saying where and what.

Every field is checked against what the dashboard will do with it: the mode against the registry
and its own parameter checks, the python as `POST /api/server` checks it (whether the free-threaded
build is made is asked when the scene is fired), the load against the burst limits. The dashboard
must not start with half a talk, so the first problem found stops the start (run.py prints it and
exits).
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

from dashboard.files import PROJECT_ROOT
from dashboard.loadspec.limits import BadLoadRequest, parse_burst
from dashboard.model.verdict import Prediction
from dashboard.scenes.law import cores, predict
from dashboard.scenes.scene import Scene
from dashboard.servers import interpreters
from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import get_mode

DEFAULT_TALK = PROJECT_ROOT / "scenes" / "talk.toml"
MAX_SCENES = 100
SCENE_KEYS = {"id", "title", "caption", "mode", "params", "load", "predicted", "python"}
REQUIRED = ("id", "title", "caption", "mode", "load")
TEXT_LIMITS = {"title": 80, "caption": 200}
ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
SCENE_HEADER = re.compile(r"^\s*\[\[\s*scene\s*\]\]")


class TalkError(ValueError):
    """A talk file the dashboard refuses; the message names the file, the line or scene, and what."""


@functools.cache
def default_talk() -> tuple[Scene, ...]:
    """The talk the dashboard ships (the article's, in order), read once."""
    return load_talk(DEFAULT_TALK)


def load_talk(path: Path, ncores: int | None = None) -> tuple[Scene, ...]:
    """The scenes of the TOML file at `path`, in order, each with its prediction for `ncores`
    cores (this machine's by default)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TalkError(f"{path}: cannot be read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        raise TalkError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"title", "scene"})
    if unknown:
        raise TalkError(
            f"{path}: unknown top-level key {unknown[0]!r}; a talk has 'title' and [[scene]] tables"
        )
    if not isinstance(data.get("title", ""), str):
        raise TalkError(f"{path}: 'title' must be a string")
    tables = data.get("scene")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise TalkError(f"{path}: no scenes; each scene is a [[scene]] table")
    if len(tables) > MAX_SCENES:
        raise TalkError(f"{path}: {len(tables)} scenes; at most {MAX_SCENES}")
    headers = [n for n, line in enumerate(text.splitlines(), 1) if SCENE_HEADER.match(line)]
    ncores = cores() if ncores is None else ncores
    scenes: list[Scene] = []
    for index, table in enumerate(tables):
        line = f", line {headers[index]}" if len(headers) == len(tables) else ""
        where = f"{path}{line}: scene {index + 1}"
        if isinstance(table.get("id"), str):
            where += f" (id {table['id'][:40]!r})"
        scene = _scene(table, where, ncores)
        if any(s.id == scene.id for s in scenes):
            raise TalkError(f"{where}: key 'id': another scene already has id {scene.id!r}")
        scenes.append(scene)
    return tuple(scenes)


def _scene(table: dict, where: str, ncores: int) -> Scene:
    unknown = sorted(set(table) - SCENE_KEYS)
    if unknown:
        raise TalkError(f"{where}: unknown key {unknown[0]!r}; a scene has {', '.join(sorted(SCENE_KEYS))}")
    for key in REQUIRED:
        if key not in table:
            raise TalkError(f"{where}: key {key!r} is missing")
    if not isinstance(table["id"], str) or not ID.fullmatch(table["id"]):
        raise TalkError(f"{where}: key 'id': 1-40 lower-case letters, digits and dashes, got {table['id']!r}")
    for key, most in TEXT_LIMITS.items():
        value = table[key]
        if not isinstance(value, str) or not value.strip() or len(value) > most:
            raise TalkError(f"{where}: key {key!r}: text of 1 to {most} characters, got {str(value)[:40]!r}")
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise TalkError(f"{where}: key 'params': a table like {{ workers = 4 }}, got {params!r}")
    try:
        mode = get_mode(table["mode"])
    except BadServerRequest as exc:
        raise TalkError(f"{where}: key 'mode': {exc}") from None
    try:
        values = mode.validate(params)
    except BadServerRequest as exc:
        raise TalkError(f"{where}: key 'params': {exc}") from None
    python = table.get("python")
    if python is not None:
        try:
            interpreters.check(python, mode)
        except BadServerRequest as exc:
            raise TalkError(f"{where}: key 'python': {exc}") from None
    try:
        burst = parse_burst(table["load"])
    except BadLoadRequest as exc:
        raise TalkError(f"{where}: key 'load': {exc}") from None
    # Only the free-threaded build is known to run without the GIL; a path's Python is taken to have
    # it (the speaker overrides `predicted` for a free-threaded one of their own).
    gil = python != interpreters.FREE_THREADED
    predicted = predict(mode, values, burst, ncores, gil)
    if "predicted" in table:
        predicted = _override(table["predicted"], predicted, where)
    return Scene(table["id"], table["title"], table["caption"], mode.name, values, burst, predicted, python)


def _override(given: object, law: Prediction, where: str) -> Prediction:
    """The speaker's own figures, where the law's do not fit (either key may be left out)."""
    if not isinstance(given, dict) or set(given) - {"makespan_ms", "peak_busy"}:
        raise TalkError(
            f"{where}: key 'predicted': a table of makespan_ms and peak_busy, got {given!r}"[:300]
        )
    values = {"makespan_ms": law.makespan_ms, "peak_busy": law.peak_busy, **given}
    for key, value in values.items():
        if type(value) is not int or not 0 < value <= 10_000_000:
            raise TalkError(f"{where}: key 'predicted.{key}': a whole number from 1, got {value!r}")
    return Prediction(values["makespan_ms"], values["peak_busy"])
