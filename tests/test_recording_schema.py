"""A recording is checked field by field as it is read, from the event types' own hints: a bad line
is refused at start naming its line and field, and what is accepted replays into answers, never a
500. Guards issue 17, fault 3."""

from __future__ import annotations

import json
import math
import re
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.app import create_app
from dashboard.children import Spawner
from dashboard.config import Config
from dashboard.model import events
from dashboard.recording.fileformat import Header, header
from dashboard.recording.reader import RecordingError, read_recording
from dashboard.recording.schema import BadField, check, checker
from dashboard.scenes.talk import DEFAULT_TALK, load_talk
from dashboard.servers.manager import ServerManager
from tests.support import wait_for
from tests.test_recording import good_lines

WRONG = [
    "x",
    None,
    True,
    -1,
    10**30,
    2**63,
    1e300,
    math.nan,
    math.inf,
    {"a": 1},
    [],
    ["x"],
]


def paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every place in a parsed line a value sits at: keys and list indexes from its top."""
    found = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found += paths(item, (*prefix, key))
    return found


def mutated(lines: list[dict], number: int, place: tuple, new: object) -> list[dict]:
    """`lines` with the value at `place` of line `number` (0: the header) replaced, or removed."""
    lines = json.loads(json.dumps(lines))
    *parents, last = place
    holder = lines[number]
    for key in parents:
        holder = holder[key]
    if new is REMOVE and isinstance(holder, dict):
        del holder[last]
    else:
        holder[last] = None if new is REMOVE else new
    return lines


REMOVE = object()


def write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_every_field_of_every_event_has_a_check():
    """The description is the event types: each of their hints (and those they hold) has a check,
    so an event added to `Event` later is checked too, or this fails naming its type."""
    for kind in typing.get_args(events.Event):
        checker(kind)


def test_a_wrong_field_names_its_path_and_what_it_must_be():
    info = {"mode": "gunicorn-sync", "params": {"workers": "2"}}
    with pytest.raises(
        BadField, match=r"^info\.params\.workers must be an integer from 0 to 10,000, got '2'$"
    ):
        check(events.ServerChanged(0, info, 1), events.ServerChanged)


POISONS = [
    # (what the issue's probe did, line number, place, value, what the refusal must say)
    ("every server capacity 'x'", 1, ("info", "capacity"), "x", "line 2: a 'server' event's info.capacity"),
    (
        "makespan_ms 'x'",
        4,
        ("predicted", "makespan_ms"),
        "x",
        "line 5: a 'scene' event's predicted.makespan_ms",
    ),
    ("a scene without id", 4, ("scene", "id"), REMOVE, "line 5: a 'scene' event's scene.id is missing"),
    ("kernel_drops {'a': 1}", 6, ("kernel_drops",), {"a": 1}, "line 7: a 'sample' event's kernel_drops"),
    (
        "started_wall NaN",
        0,
        ("started_wall",),
        math.nan,
        "line 1: the header's started_wall must be a number",
    ),
    ("started_wall 1e300", 0, ("started_wall",), 1e300, "line 1: the header's started_wall must be a number"),
    ("started_ns 10**30", 0, ("started_ns",), 10**30, "line 1: the header's started_ns must be an integer"),
]


@pytest.mark.parametrize(
    ("probe", "number", "place", "value", "message"), POISONS, ids=[p[0] for p in POISONS]
)
def test_the_issues_poisoned_recordings_are_refused_naming_line_and_field(
    tmp_path, probe, number, place, value, message
):
    """Issue 17, fault 3: each of these was accepted, then answered 500 (/api/state, /metrics,
    /api/runs, /api/report, POST /api/replay)."""
    path = write(tmp_path / "r.jsonl", mutated(good_lines(), number, place, value))
    with pytest.raises(RecordingError, match=re.escape(message)):
        read_recording(path)


READS = ["/api/state", "/metrics", "/api/runs", "/api/runs?format=md", "/api/runs?format=csv", "/api/history",
         "/api/server", "/api/replay", "/api/report?from=-60", "/api/scenes"]  # fmt: skip
# Reports of what a recording may not hold (a run, a scene): 404 says so, as live.
MAY_BE_MISSING = ["/api/report?run=r1", "/api/report?run=r2", "/api/report?scenes=all"]


def answers_of(path: Path) -> dict[str, int]:
    """Each read's status once the replay of `path` has reached its end, and seeks back and forth."""
    app, services = create_app(Config(replay=read_recording(path)), start=True)
    client = app.test_client()
    try:
        length = client.get("/api/replay").json["length_s"]
        wait_for(lambda: client.get("/api/replay").json["at_s"] == length, 30, what="the replay's end")
        got = {read: client.get(read).status_code for read in [*READS, *MAY_BE_MISSING]}
        for at_s in (0, length, 0.5 * length):
            got[f"POST /api/replay at_s={at_s}"] = client.post("/api/replay", json={"at_s": at_s}).status_code
        got["POST /api/replay speed"] = client.post("/api/replay", json={"speed": 4}).status_code
        return got
    finally:
        services.shutdown()


LINES = good_lines()
PLACES = [(number, place) for number, line in enumerate(LINES) for place in paths(line)]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PLACES), st.sampled_from([*WRONG, REMOVE]))
def test_one_wrong_field_is_refused_with_a_clear_error_or_replays_into_answers(
    tmp_path_factory, where, value
):
    """Issue 17, fault 3: one field of a good recording made a wrong type, NaN, huge or missing is
    either refused naming its line, or accepted and then every read answers (never a 500)."""
    number, place = where
    path = write(tmp_path_factory.mktemp("r") / "r.jsonl", mutated(LINES, number, place, value))
    try:
        read_recording(path)
    except RecordingError as exc:
        assert f"r.jsonl: line {number + 1}: " in str(exc), str(exc)
        return
    got = answers_of(path)
    refused = {read: code for read, code in got.items() if code != 200}
    assert all(read in MAY_BE_MISSING and code == 404 for read, code in refused.items()), (where, value, got)


def test_the_good_recording_replays_into_answers(tmp_path):
    """The property's control: unmutated, every read answers 200 (and scenes=all finds its scene)."""
    assert set(answers_of(write(tmp_path / "r.jsonl", LINES)).values()) == {200}


def test_the_checked_shapes_are_those_the_dashboard_writes():
    """The header, the server's info and a scene's header are checked by TypedDicts: their keys
    are what the writer, the server manager and a scene write, or this fails on the drift."""
    assert set(typing.get_type_hints(Header)) == set(header(0))
    spawner = Spawner()
    try:
        info = ServerManager(spawner, "udp://127.0.0.1:9", lambda info, slots, retired: None).info()
    finally:
        spawner.close()
    assert set(typing.get_type_hints(events.ServerInfo)) == set(info)
    scene = load_talk(DEFAULT_TALK)[0]
    assert set(typing.get_type_hints(events.SceneHeader)) == set(scene.header(0, 1))
