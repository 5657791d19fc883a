"""The datagram format: what sources encode, the collector decodes, and nothing else."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from threadpulse_agent import protocol
from threadpulse_agent.protocol import (
    Begin,
    End,
    ProtocolError,
    Source,
    Task,
    begin_event,
    decode,
    encode,
    encode_batches,
    end_event,
    make_tag,
    parse_tag,
)

SOURCE = Source("host", 42, "gunicorn-gthread", "worker")


def test_round_trip_keeps_source_roster_and_events():
    events = [begin_event(7, 100, 0, "GET", "/io", "r1/0/90"), end_event(7, 200, 0, "200")]
    datagram = decode(encode(SOURCE, 3, 1, 300, events, [Task(7, "T", "thread", 7)]))
    assert datagram.source == SOURCE
    assert (datagram.seq, datagram.dropped, datagram.sent_ns) == (3, 1, 300)
    assert datagram.tasks == (Task(7, "T", "thread", 7),)
    assert datagram.events == (Begin(7, 100, 0, "GET", "/io", "r1/0/90"), End(7, 200, 0, "200"))
    assert datagram.events[1].status == "200"


def test_batches_stay_under_the_size_limit_with_gap_free_numbers():
    """Worst case: every text field at its maximum length, every number at its largest."""
    long, big = "x" * protocol.MAX_TEXT, protocol.MAX_INT
    events = [begin_event(big, big, big, long, long, long) for _ in range(1000)]
    roster = [Task(i, "n" * protocol.MAX_NAME, "thread", i) for i in range(protocol.MAX_ROSTER + 50)]
    batches = encode_batches(SOURCE, itertools.count(), 0, 0, events, roster)
    decoded = [decode(data) for data in batches]
    assert all(len(data) <= protocol.MAX_DATAGRAM_BYTES for data in batches)
    assert [d.seq for d in decoded] == list(range(len(batches)))
    assert sum(len(d.events) for d in decoded) == 1000
    assert len(decoded[0].tasks) == protocol.MAX_ROSTER


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xfe", "not_json"),
        (b"[" * 50_000, "not_json"),
        (b"[1, 2]", "bad_shape"),
        (json.dumps({"v": 99}).encode(), "bad_version"),
        (b"x" * (protocol.MAX_DATAGRAM_BYTES + 1), "oversize"),
    ],
)
def test_malformed_datagrams_are_refused_with_a_reason(data, reason):
    with pytest.raises(ProtocolError) as caught:
        decode(data)
    assert caught.value.reason == reason


def _body(**changes):
    body = json.loads(encode(SOURCE, 0, 0, 0, [end_event(1, 2, 0, "200")]))
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": -1},
        {"seq": 1.5},
        {"seq": True},
        {"src": {"host": "h", "pid": 1, "mode": "m", "role": "admin"}},
        {"ev": "all"},
        {"tasks": "all"},
    ],
)
def test_wrong_types_and_values_are_refused(changes):
    decode(_body())  # the body the changes spoil is itself valid
    with pytest.raises(ProtocolError):
        decode(_body(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"ev": [["end", 1, 2, 0]]},
        {"ev": [["explode", 1]]},
        {"ev": [["begin", 1, 2, 0, "GET", "/", 5]]},
        {"ev": [["end", 1, 2, 0, "2" * 1000]]},
        {"ev": [["end", 1, 2, "42-0", "200"]]},  # schema 1 named a request by a string
        {"tasks": [[1, "t", "fiber", 1]]},
        {"tasks": [[1, "t" * (protocol.MAX_NAME + 1), "thread", 1]]},
    ],
)
def test_a_wrong_event_or_task_is_dropped_alone_and_counted(changes):
    datagram = decode(_body(**changes))
    assert datagram.bad_events + datagram.bad_tasks == 1
    assert datagram.events == () or "tasks" in changes


def test_tags_round_trip_and_junk_tags_are_ignored():
    assert parse_tag(make_tag("r3", 5, 123)) == ("r3", 5, 123)
    for junk in (
        None,
        "",
        "r3/5",
        "r3/x/1",
        "r3/-1/1",
        "a/b/c/d",
        "r1/\xb2/1",
        "r1/1/\u0661",
        "r/1/9" + "9" * 19,
    ):
        assert parse_tag(junk) is None


# pyenv's 3.9, which this kind of machine has (the CI machine too): the test runs, never skips.
PYTHON_39 = next(iter(sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python"))), None) or shutil.which(
    "python3.9"
)


def test_the_agent_imports_and_its_protocol_round_trips_on_python_3_9_with_no_package(tmp_path):
    """issue 18: the agent runs inside users' apps on Python 3.9+, and it failed to import there
    (the protocol's `str | None` evaluated at module level). Its folder alone, on 3.9 without
    site-packages (standard library only), imports and encodes and decodes a datagram with the
    same table as here."""
    assert PYTHON_39 is not None, "no Python 3.9 here: install it with pyenv (pyenv install 3.9)"
    shutil.copytree(
        ROOT / "agent" / "threadpulse_agent",
        tmp_path / "threadpulse_agent",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    script = (
        "import json, sys, threadpulse_agent, threadpulse_agent.asgi\n"
        "from threadpulse_agent import protocol as p\n"
        "assert sys.version_info[:2] == (3, 9)\n"
        "d = p.decode(p.encode(p.Source('h', 1, 'm', 'worker'), 0, 0, 0, [p.end_event(1, 2, 3, '200')]))\n"
        "assert d.events == (p.End(1, 2, 3, '200', None),), d\n"
        "print(json.dumps(p.EVENT_FIELDS))"
    )
    done = subprocess.run(
        [PYTHON_39, "-E", "-S", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert {kind: tuple(map(tuple, fields)) for kind, fields in json.loads(done.stdout).items()} == (
        protocol.EVENT_FIELDS
    )
