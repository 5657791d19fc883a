"""Record a live burst on a real server, then replay it: the model is a fold of the event log.

Guards issue 12 items 1 and 3: the replayed /api/state and /api/history equal the live ones, to the
field, at each point the live dashboard was looked at; a replay at 1x and 4x ends where the live
run did; two replays of one file give identical frames at the same replay times.
"""

from __future__ import annotations

import json
import time

import pytest

from dashboard.app import create_app
from dashboard.broadcaster import Broadcaster
from dashboard.cli.run import parse_args
from dashboard.config import Config
from dashboard.model.events import fold
from dashboard.model.live import Model
from dashboard.model.store import Store
from dashboard.model.views import history_view, state_view
from dashboard.recording.reader import read_recording
from dashboard.recording.replay import ReplayClock, Replayer
from dashboard.scenes.talk import load_talk
from tests.support import Dashboard, wait_for

integration = pytest.mark.integration

SCENE = """
[[scene]]
id = "pool"
title = "Two by two"
caption = "Nine waits of 300 ms on four threads."
mode = "gunicorn-gthread"
params = { workers = 2, threads = 2 }
load = { endpoint = "io", count = 9, ms = 300 }
"""


def as_json(value: object) -> object:
    """What the API sends of a view."""
    return json.loads(json.dumps(value))


def views(model: Model, now: int) -> tuple[object, object]:
    return as_json(state_view(model, now)), as_json(history_view(model, now))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A live dashboard (gunicorn gthread 2 x 2) recording from start; a burst, then a scene; the live views
    and the count of events recorded at each look, the last one as the recording stops."""
    folder = tmp_path_factory.mktemp("rec")
    path = folder / "burst.jsonl.gz"
    (folder / "talk.toml").write_text(SCENE)
    config = Config(
        mode="gunicorn-gthread",
        server_params={"workers": 2, "threads": 2},
        record=path,
        scenes=load_talk(folder / "talk.toml"),
    )
    app, services = create_app(config, start=True)
    client = app.test_client()
    looks = []

    def look(model: Model) -> tuple:
        now = services.store.now_ns()
        return (services.recorder.offered, now, *views(model, now))

    try:
        wait_for(lambda: services.servers.info()["status"] == "serving", 60, what="the server to serve")
        wait_for(lambda: len(client.get("/api/state").json["processes"]) == 2, 20, what="2 workers")
        for fire in ("/api/load", "/api/scenes/pool"):
            run = client.post(fire, json={"endpoint": "io", "count": 6, "ms": 300}).json["run"]
            while client.get(f"/api/runs/{run}").json["state"] == "running":
                looks.append(services.store.use(look))
                time.sleep(0.2)
        looks.append(services.store.use(look))

        def finish(model: Model) -> tuple:
            now = services.store.now_ns()
            services.recorder.finish(now)
            services.store.taps.clear()
            return (services.recorder.offered, now, *views(model, now))

        last = services.store.use(finish)
        services.recorder.stop()
        assert services.recorder.dropped == 0
    finally:
        services.shutdown()
    yield path, looks, last


@integration
def test_a_fresh_model_fed_the_recorded_log_has_the_live_state_and_history_at_each_look(recorded):
    """Item 1: the model's state is a pure function of the event log, to the field."""
    path, looks, last = recorded
    recording = read_recording(path)
    assert recording.warning is None
    assert len(looks) >= 4
    for offered, now, state, history in [*looks, last]:
        model = Model()
        for event in recording.events[:offered]:
            fold(model, event)
        assert views(model, now) == (state, history), f"after {offered} events"
    assert state["counters"]["done"] >= 15 and len(state["processes"]) == 2  # not an empty comparison
    assert [run["state"] for run in state["runs"]] == ["done", "done"]
    assert state["scene"]["id"] == "pool" and state["scene"]["verdict"]  # the scene replays with its verdict


@integration
@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_a_replay_ends_with_the_live_state_and_history(recorded, speed):
    """Item 3: the replay serves the same /api/state and /api/history as the live dashboard had
    when the recording stopped, at 1x and 4x; it has no server and refuses live actions with 409."""
    path, _, (_, end_ns, state, history) = recorded
    recording = read_recording(path)
    assert recording.end_ns == end_ns
    app, services = create_app(Config(replay=recording, speed=speed), start=True)
    client = app.test_client()
    try:
        length = client.get("/api/replay").json["length_s"]
        started = time.monotonic()
        wait_for(
            lambda: client.get("/api/replay").json["at_s"] == length, length / speed + 30, what="the end"
        )
        took = time.monotonic() - started
        assert took >= length / speed * 0.9  # the replay's clock runs at its speed, not faster
        assert as_json(client.get("/api/state").json) == state
        assert as_json(client.get("/api/history").json) == history
        assert client.get("/api/health").json["source"] == "replay"
        assert client.get("/api/server").json["mode"] == "gunicorn-gthread"
        for path_, body in [
            ("/api/load", {"endpoint": "io", "count": 1, "ms": 1}),
            ("/api/load/stop", {}),
            ("/api/server", {"mode": "gunicorn-sync"}),
            ("/api/scenes/dev-serial", {}),
            ("/api/recording", {"action": "start"}),
        ]:
            reply = client.post(path_, json=body)
            assert reply.status_code == 409, path_
            assert "replays a recording" in reply.json["error"]
    finally:
        services.shutdown()


def replay_frames(path, times: list[int]) -> list[dict]:
    """Frames and snapshots of a replay driven to each of `times` (recording ns), no thread."""
    recording = read_recording(path)
    clock = ReplayClock(recording.start_ns, recording.end_ns, host=lambda: 0)
    replayer: Replayer | None = None
    store = Store(clock=lambda: replayer.position_ns)
    sent: list[dict] = []
    broadcaster = Broadcaster(store, lambda event, data, skip=None: sent.append({event: data}))
    broadcaster.viewers.add("viewer")
    replayer = Replayer(recording, store, clock, broadcaster.restart)
    out = []
    for t in times:
        replayer.advance_to(t)
        out.append(as_json(broadcaster.snapshot()))
    return [*out, *as_json(sent)]


@integration
def test_two_replays_of_one_file_give_identical_frames_at_the_same_replay_times(recorded):
    """Determinism: frames depend on the file and the replay's position only (a seek back too)."""
    path, _, (_, end_ns, _, _) = recorded
    start = read_recording(path).start_ns
    times = [start + (end_ns - start) * k // 20 for k in range(21)] + [start + (end_ns - start) // 3, end_ns]
    first, second = replay_frames(path, times), replay_frames(path, times)
    assert first == second
    assert len(first) > len(times)  # the seek back restarted the viewers with a snapshot


# A recording as the build before issue 18 wrote it: the server line as its server manager gave
# it, a datagram from one gthread worker with a request in service, then the end.
OLDER_BUILD = [
    {"format": "threadpulse-recording", "schema": 1, "version": "0.17.0", "host": "h", "cores": 2,
     "started_wall": 1.8e9, "started_ns": 0},
    {"k": "server", "t": 10, "slots": 2, "retired": [],
     "info": {"mode": "gunicorn-gthread", "workers": 1, "threads": 2, "params": {"workers": 1, "threads": 2},
              "capacity": 2, "capacity_formula": "workers × threads", "url": "http://127.0.0.1:8001",
              "pids": [7, 8], "status": "serving", "error": None}},
    {"k": "datagrams", "t": 20, "bad": [], "raw": [
        '{"v":2,"src":{"host":"h","pid":8,"mode":"gunicorn-gthread","role":"worker","server":{"id":"h:7",'
        '"kind":"gunicorn gthread","workers":1,"threads":2,"connections":null,"capacity":2,'
        '"listen":["127.0.0.1:8001"]}},"seq":0,"dropped":0,"t":5,"ev":[["begin",1,15,5,"GET","/io",null]],'
        '"tasks":[[1,"T","thread",9]]}']},
    {"k": "end", "t": 30},
]  # fmt: skip


def test_a_recording_of_an_older_build_replays_into_frames_that_carry_servers_only(tmp_path):
    """Issue 18: frames lost the single-server `server` and `queues` beside `servers`. A recording
    holds events, not frames, so one an older build wrote replays into the new shape: the managed
    server's entry carries what the header shows, its counters and its queues; and (issue 21) its
    process is named by pid as before, on the recording's host."""
    path = tmp_path / "older.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in OLDER_BUILD))
    snapshot = replay_frames(path, [30])[0]
    assert "server" not in snapshot and "queues" not in snapshot
    (server,) = snapshot["servers"]
    assert (server["id"], server["managed"], server["mode"], server["status"], server["error"]) == (
        "h:7",
        True,
        "gunicorn-gthread",
        "serving",
        None,
    )
    assert (server["workers"], server["threads"], server["capacity"], server["pids"]) == (1, 2, 2, [8])
    assert (
        server["counters"] == snapshot["counters"] == {"queued": 0, "in_service": 1, "done": 0, "failed": 0}
    )
    assert server["queues"] == {"client": 0, "accept_backlog": None, "in_workers": None}
    # Issue 21: a process is known by (host, pid); the recording's host is the dashboard's own, so
    # the pids its events name without a host (the server line's) are its agents' pids.
    (process,) = snapshot["processes"]
    assert (process["host"], process["key"], server["host"]) == ("h", "8", "h")


@integration
def test_run_py_record_writes_a_whole_file_that_ends_when_the_dashboard_stops(tmp_path):
    """`run.py --record FILE` records from start; Ctrl-C closes the file with its end line."""
    path = tmp_path / "cli.jsonl"
    dash = Dashboard("--workers", "1", "--threads", "2", "--record", str(path))
    try:
        dash.wait_serving()
        dash.wait_processes(1)
        dash.wait_run(dash.fire("io", 4, 100))
        assert dash.get("/api/recording").json()["recording"] is True
    finally:
        dash.stop_leaving_nothing(10)
    recording = read_recording(path)
    kinds = [type(event).__name__ for event in recording.events]
    assert recording.warning is None and kinds[-1] == "Ended"
    assert {"ServerChanged", "RunAdded", "Datagrams", "Sample"} <= set(kinds)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "9"], "--speed must be from 0.25 to 8"),
        (["--record", "a.jsonl", "--replay", "b.jsonl"], "do not go together"),
        (["--record-cap-mb", "0"], "--record-cap-mb must be from 1"),
        (["--replay", "/nonexistent/r.jsonl"], "--replay: /nonexistent/r.jsonl: No such file"),
    ],
)
def test_bad_record_and_replay_flags_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err
