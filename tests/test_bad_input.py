"""Bad input changes nothing: every API endpoint answers junk with a 4xx and a message, and
nothing a viewer sends over Socket.IO does anything but ask for a snapshot.

Property tests drive the validators the API and the CLI share; the rest runs against one real
dashboard with a burst kept running throughout, which no refused request may disturb.
"""

from __future__ import annotations

import math
import queue
import time

import pytest
import websocket
from hypothesis import given
from hypothesis import strategies as st

from dashboard.app import MAX_BODY_BYTES, create_app
from dashboard.config import Config
from dashboard.loadspec.limits import MAX_COUNT, MAX_MS, MAX_WORK_MS, BadLoadRequest, parse_burst
from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import REGISTRY, get_mode
from dashboard.web import api
from tests.support import Viewer, wait_for

numbers = (
    st.integers()
    | st.floats()
    | st.sampled_from([-1, 0, 1.5, 10**30, -(10**30), math.nan, math.inf, -math.inf, True, False])
)
junk = st.recursive(
    st.none() | numbers | st.text(max_size=30) | st.sampled_from(["http://evil.example/", "../hello"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
fields = st.sampled_from(["endpoint", "count", "ms", "mode", "workers", "threads", "url"]) | st.text(
    max_size=8
)


@given(st.dictionaries(fields, junk | numbers, max_size=4) | junk)
def test_a_burst_is_within_every_cap_or_refused_with_a_message(body):
    try:
        burst = parse_burst(body)
    except BadLoadRequest as exc:
        assert 0 < len(str(exc)) < 300
        return
    assert type(burst.count) is int and 1 <= burst.count <= MAX_COUNT
    assert type(burst.ms) is int and 0 <= burst.ms <= MAX_MS
    assert burst.count * burst.ms <= MAX_WORK_MS
    assert burst.path().startswith(f"/{burst.endpoint}")


@given(junk | st.sampled_from(sorted(REGISTRY)), st.dictionaries(fields, junk | numbers, max_size=3))
def test_a_server_request_is_within_bounds_or_refused_with_a_message(mode, params):
    try:
        values = get_mode(mode).validate(params)
    except BadServerRequest as exc:
        assert 0 < len(str(exc)) < 300
        return
    bounds = {p.name: (p.minimum, p.maximum) for p in REGISTRY[mode].params}
    assert set(values) == set(bounds)
    assert all(type(v) is int and bounds[k][0] <= v <= bounds[k][1] for k, v in values.items())


BAD_NUMBERS = ["-1", "0.5", "1.5", "1e3", "10" * 20, "NaN", "Infinity", "-Infinity", "true", '"10"', "null"]
BAD_LOAD = [
    "",
    "{",
    '{"endpoint": "io",}',
    "[" * 5000 + "]" * 5000,
    "null",
    "[]",
    '"io"',
    "42",
    '{"endpoint": "nope"}',
    '{"endpoint": "http://evil.example/"}',
    '{"endpoint": "//evil.example/io"}',
    '{"endpoint": "../hello"}',
    '{"endpoint": "/io?ms=1"}',
    '{"endpoint": ["io"]}',
    '{"endpoint": "io", "url": "http://evil.example/"}',
    '{"endpoint": "io", "host": "evil.example", "port": 80}',
    f'{{"endpoint": "io", "count": {MAX_COUNT + 1}}}',
    f'{{"endpoint": "io", "ms": {MAX_MS + 1}}}',
    f'{{"endpoint": "io", "count": {MAX_COUNT}, "ms": {MAX_MS}}}',
    *(f'{{"endpoint": "io", "count": {n}}}' for n in BAD_NUMBERS),
    *(f'{{"endpoint": "io", "ms": {n}}}' for n in BAD_NUMBERS),
]
BAD_SERVER = [
    "",
    "{",
    "[]",
    '"gunicorn-gthread"',
    "{}",
    '{"mode": "nope"}',
    '{"mode": null}',
    '{"mode": 5}',
    '{"mode": "http://evil.example/"}',
    '{"mode": "gunicorn-gthread", "url": "http://evil.example/"}',
    *(f'{{"mode": "gunicorn-gthread", "workers": {n}}}' for n in [*BAD_NUMBERS, "10000"]),
    *(f'{{"mode": "gunicorn-gthread", "threads": {n}}}' for n in [*BAD_NUMBERS, "10000"]),
]
JSON = {"Content-Type": "application/json"}
JUNK_RUN_IDS = [
    "nope",
    "r0",
    "r-1",
    "r999999999999999999999",
    "%00",
    "%ff%fe",
    "x" * 3000,
    "..%2F..%2Fetc",
    "r1%20",
]


@pytest.fixture(scope="module")
def busy(dashboard):
    """A long burst kept running while junk arrives: a refused request must not cut it short."""
    run = dashboard.fire("io", 2, 30_000)
    yield run
    dashboard.post("/api/load/stop")


def fingerprint(dashboard) -> dict:
    """What a refused request must leave as it was: the server and the runs."""
    server = dashboard.get("/api/server").json()
    state = dashboard.get("/api/state").json()
    return {"server": server, "runs": [(r["id"], r["state"]) for r in state["runs"]]}


def expect_refused(reply, *codes: int) -> None:
    assert reply.status_code in (codes or (400,)), (reply.status_code, reply.text)
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json()["error"]


@pytest.mark.integration
@pytest.mark.parametrize(("path", "bodies"), [("/api/load", BAD_LOAD), ("/api/server", BAD_SERVER)])
def test_junk_bodies_are_refused_with_a_message_and_change_nothing(dashboard, busy, path, bodies):
    before = fingerprint(dashboard)
    for body in bodies:
        expect_refused(dashboard.http.post(dashboard.url + path, data=body, headers=JSON, timeout=10))
    expect_refused(
        dashboard.http.post(dashboard.url + path, data="{}", headers={"Content-Type": "text/plain"})
    )
    too_big = {**JSON, "Connection": "close"}  # the server closes it without reading the body
    expect_refused(
        dashboard.http.post(dashboard.url + path, data=b" " * (MAX_BODY_BYTES + 1), headers=too_big), 413
    )
    assert fingerprint(dashboard) == before
    assert dashboard.get(f"/api/runs/{busy}").json()["state"] == "running"


@pytest.mark.integration
@pytest.mark.parametrize("run_id", JUNK_RUN_IDS)
def test_a_junk_run_id_is_not_found_with_a_short_message(dashboard, run_id):
    reply = dashboard.get(f"/api/runs/{run_id}")
    expect_refused(reply, 404)
    assert len(reply.json()["error"]) < 200


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nope"), ("POST", "/api/nope"), ("GET", "/api/load"), ("DELETE", "/api/server"),
     ("PUT", "/api/load"), ("GET", "/api/load/stop"), ("POST", "/api/state"), ("GET", "/api/runs/")],
)  # fmt: skip
def test_unknown_endpoints_and_methods_get_json_errors(dashboard, method, path):
    expect_refused(dashboard.http.request(method, dashboard.url + path, timeout=10), 404, 405)


def test_an_error_inside_an_api_view_is_a_json_500(monkeypatch):
    """Every error answer of the API is JSON: also the one for a bug (issue 10)."""
    app, services = create_app(Config(), start=False)
    try:
        monkeypatch.setattr(api, "state_view", lambda *_: 1 / 0)
        reply = app.test_client().get("/api/state")
        assert reply.status_code == 500 and reply.json["error"]
    finally:
        services.collector.sock.close()
        services.spawner.close()


VIEWER_JUNK = [None, 1, -1.5, "x" * 100_000, {"cmd": "fire", "endpoint": "io"}, [1, [2, [3]]], b"\x00\xff"]


@pytest.mark.integration
def test_a_viewer_sending_junk_events_changes_nothing_and_stays_served(dashboard, busy):
    """Viewers only listen: `resync` with any payload gets a snapshot; every other event is ignored."""
    before = fingerprint(dashboard)
    viewer = Viewer(dashboard.url)
    try:
        wait_for(lambda: viewer.view, 5, what="a snapshot")
        for payload in VIEWER_JUNK:
            # Resyncs are answered at most every RESYNC_EVERY_S: ask until one is.
            wait_for(lambda p=payload: viewer.resynced(p), 5, what=f"a snapshot for resync({payload!r:.40})")
            for event in ("fire", "load", "switch", "stop", "server", "frame", "snapshot", "message"):
                viewer.client.emit(event, payload)
        assert viewer.client.connected
    finally:
        viewer.close()
    assert fingerprint(dashboard) == before


@pytest.mark.integration
def test_a_viewer_spamming_resync_gets_a_snapshot_at_most_every_half_second(dashboard):
    """A full snapshot costs far more than a frame: 100 resyncs at once are not 100 snapshots."""
    viewer = Viewer(dashboard.url)
    try:
        viewer.next_snapshot()
        for _ in range(100):
            viewer.client.emit("resync")
        started, snapshots = time.monotonic(), 0
        while (left := started + 1.2 - time.monotonic()) > 0:  # a window to count in, not a wait
            try:
                snapshots += viewer.next(timeout=left)[0] == "snapshot"
            except queue.Empty:
                break
        assert snapshots <= 3
        assert wait_for(lambda: viewer.resynced(), 5, what="a resync answered after the spam")
    finally:
        viewer.close()


def drain(viewer: Viewer, quiet_s: float = 1.0, cap_s: float = 30.0) -> list[str]:
    """The events a viewer receives until none came for `quiet_s` (a window to count in)."""
    names, deadline = [], time.monotonic() + cap_s
    while time.monotonic() < deadline:
        try:
            names.append(viewer.next(timeout=quiet_s)[0])
        except queue.Empty:
            break
    return names


def received_until(viewer: Viewer, until: float) -> list[str]:
    """The events a viewer's client received before `until` (monotonic): all viewers are read over
    one window, their clients queueing meanwhile (a quiet second per viewer never came while frames
    flowed, and ten viewers took 80 s)."""
    names = []
    while True:
        try:
            name, arrived, _ = viewer.next(timeout=max(0.0, until - time.monotonic()) + 0.05)
        except queue.Empty:
            return names
        if arrived > until:
            return names
        names.append(name)


@pytest.mark.integration
def test_a_viewer_sending_connect_and_disconnect_events_gets_no_snapshot_and_keeps_its_frames(dashboard):
    """Issue 10, fault 6: python-socketio hands a client's event named `connect` to the connect
    handler: 500 of them on each of 10 sockets made 5,010 snapshots, and dashboard threads went
    from 68 to 1,242. A `disconnect` event must not unsubscribe a viewer either."""
    viewers = [Viewer(dashboard.url) for _ in range(10)]
    try:
        for viewer in viewers:
            viewer.next_snapshot()
        for _ in range(500):
            for viewer in viewers:
                viewer.client.emit("disconnect")
                viewer.client.emit("connect")
        until = time.monotonic() + 3.0  # the flood's snapshots, if any, come within ms of it
        assert [received_until(viewer, until).count("snapshot") for viewer in viewers] == [0] * 10
        dashboard.fire("hello", 1, 0)  # a change: every viewer still subscribed gets a frame
        for viewer in viewers:
            wait_for(lambda v=viewer: "frame" in drain(v, 0.2, 1), 10, what="a frame after the flood")
            assert viewer.client.connected
    finally:
        for viewer in viewers:
            viewer.close()


RAW_PACKETS = [
    *("", "x", "4", "42", "42[", '42["resync"', '42{"a":1}', "43[]", "44junk", "41", "6", "9" * 5000),
    '42["resync",' + "[" * 50_000 + "]" * 50_000 + "]",  # nested beyond json.loads's recursion limit
    '451-["resync",{"_placeholder":true,"num":7}]',  # a binary attachment that never comes
]


@pytest.mark.integration
def test_malformed_socketio_packets_do_not_break_the_dashboard(dashboard, busy):
    """Junk under the Socket.IO layer (raw WebSocket frames) may close that socket, nothing more."""
    before = fingerprint(dashboard)
    for packet in RAW_PACKETS:
        ws = websocket.create_connection(
            dashboard.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=5
        )
        try:
            ws.recv()  # the engine.io handshake
            ws.send("40")
            ws.send(packet)
        finally:
            ws.close()
    viewer = Viewer(dashboard.url)
    try:
        wait_for(lambda: viewer.view, 5, what="a snapshot for a well-behaved page")
    finally:
        viewer.close()
    assert fingerprint(dashboard) == before
