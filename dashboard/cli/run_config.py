"""What run.py's flags mean: their values checked, the files they name read (a replay, the talk)
and the presenter token resolved, into the dashboard's Config. Parsing the flags is run.py's
(`build_parser`); each function here does one of these jobs and raises BadFlag, which run.py says
as argparse says a bad flag."""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

from dashboard.collector.udp import KeyRequired, refuse_open_collector
from dashboard.config import DEFAULT_MODE, DEFAULT_THREADS, BadConfig, Config
from dashboard.recording.reader import MAX_EVENTS_CAP, Recording, RecordingError, read_recording
from dashboard.scenes.scene import Scene
from dashboard.scenes.talk import TalkError, load_talk
from dashboard.servers.interpreters import resolve
from dashboard.servers.mode import BadServerRequest, Param
from dashboard.servers.modes import REGISTRY, get_mode
from dashboard.web.audience import parse_public_url
from dashboard.web.auth import ENV_TOKEN, resolve_token
from threadpulse_agent.signing import ENV_KEY, key_bytes

ATTACH_COLLECTOR_PORT = 8051  # a fixed port that servers started elsewhere can be told once
MIN_KEY_BYTES = 16  # 128 bits, if random; `openssl rand -hex 32` gives 64
MAKE_KEY = "make one with `openssl rand -hex 32 > FILE` and give your agents the same key"


class BadFlag(ValueError):
    """A flag's value that cannot start the dashboard; its message names the flag and the fix."""


def mode_params() -> dict[str, tuple[Param, list[str]]]:
    """Every mode parameter a flag can set (--workers, --threads, --pool, ...), with its modes."""
    params: dict[str, tuple[Param, list[str]]] = {}
    for mode in REGISTRY.values():
        for param in mode.params:
            params.setdefault(param.name, (param, []))[1].append(mode.name)
    return params


def config_from_flags(args: argparse.Namespace, command: list[str]) -> Config:
    """The flags checked (the values by Config itself), then the files loaded and the token
    resolved, in that order, so a bad flag is refused before a large recording is read."""
    _check_places(args, command)
    _check_origins(args.allowed_origin)
    public_url = _public_url(args.public_url)
    _check_recording_flags(args)
    mode, params = _server(args)
    try:
        config = Config(
            host=args.host,
            port=args.port,
            mode=mode,
            server_params=params,
            python=args.python,
            collector_host=args.collector_host,
            collector_port=_collector_port(args),
            dashboard_worker=args.dashboard_worker,
            dashboard_threads=_dashboard_threads(args),
            open_browser=not args.no_browser,
            allowed_origins=tuple(args.allowed_origin),
            public_url=public_url,
            record=args.record,
            record_cap_mb=args.record_cap_mb,
            speed=args.speed,
            command=tuple(command),
            chdir=os.path.abspath(args.chdir) if args.chdir else None,
            target=args.target.rstrip("/") if args.target else None,
            attach=args.attach,
            managed=args.mode is not None or not (command or args.attach),
        )
    except BadConfig as exc:
        raise BadFlag(str(exc)) from None
    key = _load_key(args)
    replay = _load_replay(args)
    token, generated = _resolve_token(args)
    scenes = _load_scenes(args.scenes)
    return replace(config, key=key, replay=replay, token=token, token_generated=generated, scenes=scenes)


def _load_key(args: argparse.Namespace) -> str | None:
    """The agents' key: the text of --key-file, else THREADPULSE_KEY's (unset or blank: no key),
    checked; a collector beyond loopback without one is refused here, before anything starts."""
    if args.key_file is not None:
        where = f"--key-file {str(args.key_file)[:80]}"
        try:
            text = args.key_file.read_bytes().decode()
        except FileNotFoundError:
            raise BadFlag(f"{where}: no such file; {MAKE_KEY}") from None
        except UnicodeDecodeError:
            raise BadFlag(f"{where} does not hold text; {MAKE_KEY}") from None
        except OSError as exc:
            raise BadFlag(
                f"{where}: cannot read it ({exc.strerror}); give a key file this user can read"
            ) from None
        key: str | None = _checked_key(text, where)
    else:
        key = os.environ.get(ENV_KEY, "").strip() or None
        if key is not None:
            key = _checked_key(key, ENV_KEY)
    if args.replay is None:  # a replay has no collector
        try:
            refuse_open_collector(args.collector_host, None if key is None else key_bytes(key))
        except KeyRequired as exc:
            raise BadFlag(str(exc)) from None
    return key


def _checked_key(text: str, where: str) -> str:
    """A key's text, surrounding whitespace stripped, long enough and printable (it travels to the
    agents in their environment)."""
    key = text.strip()
    if not key:
        raise BadFlag(f"{where} is empty; {MAKE_KEY}")
    if not key.isprintable():
        raise BadFlag(f"{where} holds control characters; {MAKE_KEY}")
    if len(key_bytes(key)) < MIN_KEY_BYTES:
        raise BadFlag(
            f"{where} holds {len(key_bytes(key))} bytes, a key needs {MIN_KEY_BYTES} or more; {MAKE_KEY}"
        )
    return key


def _collector_port(args: argparse.Namespace) -> int:
    """The agents' UDP port: as given, else the fixed one servers started elsewhere are told
    (--attach), else any free one (0)."""
    if args.collector_port is not None:
        return args.collector_port
    return ATTACH_COLLECTOR_PORT if args.attach else 0


def _check_places(args: argparse.Namespace, command: list[str]) -> None:
    """Where the user's command runs, the address load goes to, and the ports."""
    if args.chdir and not command:
        raise BadFlag("--chdir is for the COMMAND after --")
    if args.target and not (command or args.attach):
        raise BadFlag("--target is for the COMMAND after -- or for --attach")
    if args.python and (command or args.attach) and not args.mode:
        raise BadFlag(
            "--python is for the managed demo server (give --mode too); run your COMMAND with its own Python"
        )
    if args.chdir and not os.path.isdir(args.chdir):
        raise BadFlag(f"--chdir {args.chdir[:80]!r} is not a folder")
    if args.target and not re.fullmatch(r"http://[^/\s]+/?", args.target):
        raise BadFlag(f"--target must look like http://127.0.0.1:8000, got {args.target[:80]!r}")


def _dashboard_threads(args: argparse.Namespace) -> int:
    """The dashboard's OS threads: as given, else its worker's default."""
    given = args.dashboard_threads
    return DEFAULT_THREADS[args.dashboard_worker] if given is None else given


def _check_origins(origins: list[str]) -> None:
    """Other origins whose pages may connect: a scheme and a host, nothing after."""
    for origin in origins:
        if not re.fullmatch(r"https?://[^/\s]+", origin):
            raise BadFlag(f"--allowed-origin must look like https://host:port, got {origin[:80]!r}")


def _public_url(given: str | None) -> str | None:
    """The audience's address as given, checked; None when not given (run from --host, --port)."""
    if given is None:
        return None
    try:
        return parse_public_url(given)
    except ValueError as exc:
        raise BadFlag(f"--public-url {given[:80]!r}: {exc}") from None


def _check_recording_flags(args: argparse.Namespace) -> None:
    """What of recording and replay Config cannot check, before any file is opened."""
    if not 1 <= args.replay_max_events <= MAX_EVENTS_CAP:
        raise BadFlag(
            f"--replay-max-events must be from 1 to {MAX_EVENTS_CAP:,}, got {args.replay_max_events}"
        )
    if args.replay is not None and args.record is not None:
        raise BadFlag("--record and --replay do not go together: a replay has no live events")


def _load_replay(args: argparse.Namespace) -> Recording | None:
    """The recording --replay names, read whole and checked; its reader's warning said on stderr."""
    if args.replay is None:
        return None
    try:
        replay = read_recording(args.replay, args.record_cap_mb << 20, args.replay_max_events)
    except RecordingError as exc:
        raise BadFlag(f"--replay: {exc}") from None
    if replay.warning:
        print(f"warning: {replay.warning}", file=sys.stderr)
    return replay


def _resolve_token(args: argparse.Namespace) -> tuple[str | None, bool]:
    """(token, generated): --token, else the environment's (which other users cannot read from the
    process list), else a fresh secret on a non-loopback --host."""
    given = args.token if args.token is not None else os.environ.get(ENV_TOKEN)
    try:
        return resolve_token(given, args.host)
    except ValueError as exc:
        raise BadFlag(str(exc)) from None


def _server(args: argparse.Namespace) -> tuple[str, dict[str, int]]:
    """The managed server's mode and its parameters: those given by flags, the mode's defaults for
    the rest; refused when this machine cannot run it."""
    mode = get_mode(args.mode or DEFAULT_MODE)
    given = {name: getattr(args, name) for name in mode_params() if getattr(args, name) is not None}
    try:
        values = mode.startable(given)
        resolve(args.python, mode)  # the interpreter checked (its venv made) before anything starts
        return mode.name, values
    except BadServerRequest as exc:
        raise BadFlag(str(exc)) from None


def _load_scenes(path: Path) -> tuple[Scene, ...]:
    """The talk --scenes names (the default one when not given), read and checked."""
    try:
        return load_talk(path)
    except TalkError as exc:
        raise BadFlag(str(exc)) from None
