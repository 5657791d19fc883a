"""Datagrams are untrusted input: whatever arrives is decoded or dropped and counted, never a crash.

Property tests drive the decoder and the model with arbitrary input; one test sends junk over UDP
to a real dashboard's collector and reads the counts off the page's frames.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.model.live import Model
from dashboard.model.views import frame_parts, state_view
from tests.support import Viewer, wait_for
from workload.agent import protocol
from workload.agent.protocol import EVENT_FIELDS, ProtocolError, Source, Task, decode, encode, make_tag
from workload.agent.reporter import parse_collector

RUNS = ("r1", "r2")
NOT_A_PID = 2**31 - 7  # above any Linux pid_max: no real process is disturbed

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
uints = st.integers(min_value=0, max_value=2**64) | st.just(10**400)  # JSON ints have no bound
FIELD_VALUES = {
    "int": uints,
    "str": st.sampled_from(RUNS) | st.text(max_size=protocol.MAX_TEXT),
    "str?": st.none() | st.text(max_size=protocol.MAX_TEXT),
    "text": st.text(max_size=protocol.MAX_STACK),
}
tags = st.builds(make_tag, st.sampled_from(RUNS), st.integers(0, 10), uints)


@st.composite
def events(draw) -> list:
    """A well-formed event of any kind the protocol names, with arbitrary field values."""
    name = draw(st.sampled_from(sorted(EVENT_FIELDS)))
    values = []
    for field, kind in EVENT_FIELDS[name]:
        strategy = tags | FIELD_VALUES[kind] if field == "tag" else FIELD_VALUES[kind]
        values.append(draw(strategy))
    return [name, *values]


tasks = st.builds(
    Task,
    uints,
    st.text(max_size=protocol.MAX_NAME),
    st.sampled_from(protocol.TASK_KINDS),
    uints,
)
datagrams = st.builds(
    lambda role, pid, seq, evs, roster: encode(Source("h", pid, "m", role), seq, 0, 0, evs, roster),
    st.sampled_from(protocol.ROLES),
    st.sampled_from((1, 2)) | uints,
    st.integers(0, 5) | uints,
    st.lists(events(), max_size=8),
    st.none() | st.lists(tasks, max_size=4),
)


def decodes_or_refuses(data: bytes) -> None:
    try:
        decode(data)
    except ProtocolError as exc:
        assert exc.reason and len(exc.reason) < 40


@given(st.binary(max_size=300))
def test_random_bytes_are_decoded_or_refused_with_a_reason(data):
    decodes_or_refuses(data)


@given(json_values)
def test_any_json_is_decoded_or_refused_with_a_reason(value):
    decodes_or_refuses(json.dumps(value).encode())


@given(
    st.dictionaries(st.sampled_from(protocol.DATAGRAM_FIELDS), json_values, max_size=7),
    st.lists(json_values, max_size=3),
)
def test_a_valid_envelope_around_junk_is_decoded_or_refused_with_a_reason(fields, junk_events):
    body = {
        "v": protocol.SCHEMA_VERSION,
        "src": {"host": "h", "pid": 1, "mode": "m", "role": "worker"},
        "seq": 0,
        "dropped": 0,
    }
    body.update({"t": 0, "ev": junk_events}, **fields)
    decodes_or_refuses(json.dumps(body).encode())


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(datagrams, min_size=1, max_size=10))
def test_whatever_decodes_folds_into_the_model_and_its_views_without_error(stream):
    """No well-formed datagram can break the model, /api/state or the frames viewers get."""
    model = Model()
    for run in RUNS:
        model.add_run(run, "io", 5, 100)
    fed: Counter[type] = Counter()
    for now, data in enumerate(stream):
        try:
            datagram = decode(data)
        except ProtocolError as exc:
            model.reject(exc.reason)
            continue
        model.apply(datagram, now)
        fed.update(type(event) for event in datagram.events)
    json.dumps(state_view(model, len(stream)), allow_nan=False)
    json.dumps(frame_parts(model, len(stream)), allow_nan=False)
    counters = model.counters(len(stream))
    # Nothing is counted that was not fed: a request ends by an `end` or a failed `reply`.
    assert counters["in_service"] <= fed[protocol.Begin]
    assert counters["done"] + counters["failed"] <= fed[protocol.End] + fed[protocol.Reply]


def test_a_replayed_sequence_number_is_dropped_and_counted():
    model = Model()
    model.add_run("r1", "io", 5, 100)
    for role in protocol.ROLES:
        first = decode(encode(Source("h", 7, "m", role), 3, 0, 0, [protocol.reply_event("r1", 0, 5, 500)]))
        model.apply(first, 1)
        model.apply(first, 2)
        model.apply(decode(encode(Source("h", 7, "m", role), 2, 0, 0, [])), 3)
    assert model.rejected == {"replayed": 4}
    assert model.failed == 1  # the one reply that failed, counted once


JUNK = {
    "empty": b"",
    "not_json": b"\xff" + os.urandom(64),
    "bad_shape": b"[1, 2, 3]",
    "bad_version": json.dumps({"v": 99, "src": {}}).encode(),
    "oversize": b" " * (protocol.MAX_DATAGRAM_BYTES + 1),
    "bad_event": encode(Source("h", NOT_A_PID, "m", "loadgen"), 0, 0, 0, [["no-such-event"]]),
}


@pytest.mark.integration
def test_junk_datagrams_are_dropped_counted_and_shown_while_the_dashboard_runs_on(dashboard):
    collector = parse_collector(dashboard.get("/api/health").json()["collector"])
    viewer = Viewer(dashboard.url)
    try:
        wait_for(lambda: viewer.view, 5, what="a snapshot")
        before = dict(viewer.view["collector"]["rejected"])
        replay = encode(Source("h", NOT_A_PID, "m", "loadgen"), 1, 0, 0, [])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for data in [*JUNK.values(), replay, replay]:
                sock.sendto(data, collector)
        expected = {reason: before.get(reason, 0) + 1 for reason in [*JUNK, "replayed"]}
        wait_for(
            lambda: all(viewer.view["collector"]["rejected"].get(k) == n for k, n in expected.items()),
            5,
            what=f"the page to count {expected}",
        )
    finally:
        viewer.close()
    assert dashboard.wait_run(dashboard.fire("hello", 3, 0))["done"] == 3
