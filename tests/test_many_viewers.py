"""Many viewers (issue 21, docs/deploy.md): a primary dashboard publishes its frames through a real
Redis (Flask-SocketIO's message queue); viewer-only processes relay them to their own viewers,
keep a mirror of the state for newcomers, and refuse every action, naming the primary; a page
behind a real round-robin nginx with no sticky sessions works."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, WebSocket, expect

from dashboard.broadcaster import apply_frame, diff, merge_frames
from dashboard.cli.run import parse_args
from dashboard.fanout import OUTBOX, Fanout
from dashboard.mirror import Mirror, NotSeeded
from dashboard.servers.manager import free_port
from tests.proxies import nginx_round_robin, redis_server, viewer_process
from tests.support import ROOT, Dashboard, Viewer, page_at, serving, wait_for

CAPACITY = 4  # the primary's workload: 1 worker x 4 threads
HEALTH_DEADLINE_S = 5.0  # generous on a busy machine; a stalled hub never answers at all
BUSY_TILES = (
    "n => document.querySelectorAll('.tile[data-state=waiting], .tile[data-state=running]').length >= n"
)


class Fleet:
    """Redis, a primary on it, and two viewer-only processes relaying its frames."""

    def __init__(self, queue: str, primary: Dashboard, viewers: list[Dashboard]) -> None:
        self.queue, self.primary, self.viewers = queue, primary, viewers


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with redis_server() as (queue, _redis):
        for primary in serving("--workers", "1", "--threads", str(CAPACITY), "--message-queue", queue):
            viewers: list[Dashboard] = []
            try:
                viewers += [viewer_process(queue, primary), viewer_process(queue, primary)]
                yield Fleet(queue, primary, viewers)
            finally:
                for dash in viewers:
                    dash.stop_leaving_nothing(10)


def busy_on(view: dict | None, path: str) -> int:
    """Tasks of a viewer's view serving `path`."""
    tasks = (view or {}).get("tasks", {}).values()
    return sum(1 for task in tasks if (task.get("request") or {}).get("path") == path)


def relayed_done(view: dict | None, run: str) -> int:
    """Requests of run `run` done, as a viewer's view (or a mirror's state) has it."""
    return next((r["done"] for r in (view or {}).get("runs", []) if r["id"] == run), -1)


def test_a_viewer_process_relays_the_primarys_snapshot_and_burst_and_its_health_answers(fleet):
    """A newcomer of a viewer-only process starts from the mirror's snapshot, and the frames of
    a burst fired on the primary follow it through Redis. Meanwhile /api/health answers there
    within a deadline, every time: Redis is read on an OS thread, not on the unpatched hub (a
    greenlet blocked in a plain socket read would stall every answer until the next message)."""
    viewer = Viewer(fleet.viewers[0].url)
    try:
        _, _, snapshot = viewer.next_snapshot(timeout=10)
        assert [p["pid"] for p in snapshot["processes"] if p["status"] == "alive"], snapshot["processes"]
        health_waits: list[float] = []
        failures: list[Exception] = []
        stop = threading.Event()

        def poll_health() -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    requests.get(
                        fleet.viewers[0].url + "/api/health", timeout=HEALTH_DEADLINE_S
                    ).raise_for_status()
                except requests.RequestException as exc:
                    failures.append(exc)
                    return
                health_waits.append(time.monotonic() - started)
                stop.wait(0.05)

        poller = threading.Thread(target=poll_health, daemon=True)
        poller.start()
        run = fleet.primary.fire("io", 2 * CAPACITY, 600)
        wait_for(lambda: busy_on(viewer.view, "/io") == CAPACITY, 10, what="the burst's tasks relayed")
        fleet.primary.wait_run(run)
        wait_for(lambda: busy_on(viewer.view, "/io") == 0, 10, what="the burst's end relayed")
        stop.set()
        poller.join(HEALTH_DEADLINE_S + 1)
        assert failures == [] and health_waits and not poller.is_alive()
        # The tasks' ends (the agent's datagrams) and the run's count (the generator's reports)
        # reach the primary apart and may be cut into different frames: wait for the count.
        wait_for(lambda: relayed_done(viewer.view, run) == 2 * CAPACITY, 10, what="the run's count relayed")

        def mirrored_done() -> int:  # the mirror, as a newcomer gets it
            return relayed_done(fleet.viewers[0].get("/api/state").json(), run)

        wait_for(lambda: mirrored_done() == 2 * CAPACITY, 10, what="the run's count mirrored")
        health = fleet.viewers[0].get("/api/health").json()
        assert health["primary"] == fleet.primary.url and health["viewers"] == 1
    finally:
        viewer.close()


def test_a_viewer_process_metrics_are_its_viewers_and_both_count_what_redis_did_not_take(fleet):
    """A viewer-only process's /metrics held only the empty model's families: an operator saw
    nothing of the room it serves. Now it has its viewers, the frames they got and the views its
    mirror fetched, and no model figures; primary and viewer-only processes alike count, in
    /metrics and /api/health, the messages they could not publish while Redis was slow
    (Fanout.dropped, which nothing showed)."""
    dash = fleet.viewers[1]
    viewer = Viewer(dash.url)
    try:
        viewer.next_snapshot(timeout=10)
        before = dash.get("/api/health").json()["frames_sent"]
        fleet.primary.wait_run(fleet.primary.fire("io", 2, 100))
        wait_for(lambda: dash.get("/api/health").json()["frames_sent"] > before, 10, what="frames relayed")
        text = dash.get("/metrics").text
        figures = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line[:1] != "#"}
        assert figures["threadpulse_viewers"] == 1 and figures["threadpulse_frames_sent_total"] > before
        assert figures["threadpulse_mirror_seeds_total"] >= 1  # once more for each frame a busy machine lost
        assert "threadpulse_queue_dropped_total 0.0" in text
        assert "threadpulse_capacity" not in text and "threadpulse_collector_rejected" not in text
        primary = fleet.primary.get("/metrics").text
        assert "threadpulse_queue_dropped_total 0.0" in primary and "threadpulse_capacity{" in primary
        assert "threadpulse_mirror_seeds" not in primary
        for process in (dash, fleet.primary):
            assert process.get("/api/health").json()["queue_dropped"] == 0
    finally:
        viewer.close()


def test_messages_past_a_full_outbox_are_dropped_and_counted_never_waited_for():
    """Drop, count, never block: with Redis too slow or away, a green dashboard's publishes wait
    in an outbox of OUTBOX messages, and the ones after are dropped and counted (Fanout.dropped,
    which /api/health and /metrics show), so the hub never waits on Redis."""
    fanout = Fanout("redis://127.0.0.1:1/0", green=True)  # never started: nothing takes from the outbox
    for _ in range(OUTBOX + 3):
        fanout.emit("frame", {"version": 1}, namespace="/")
    assert fanout.dropped == 3


def test_a_viewer_process_refuses_actions_naming_the_primary_and_changes_nothing(fleet):
    """Bad input changes nothing: a viewer-only process has no server or load to act on, so every
    action (and every read that needs the model) answers 409 with the primary's address."""
    dash = fleet.viewers[1]
    runs_before = [r["id"] for r in fleet.primary.get("/api/state").json()["runs"]]
    for method, path, body in [
        ("POST", "/api/load", {"endpoint": "io", "count": 1, "ms": 10}),
        ("POST", "/api/server", {"mode": "flask-dev-serial"}),
        ("POST", "/api/load/stop", {}),
        ("POST", "/api/recording", {"action": "start"}),
        ("GET", "/api/runs/nothing", None),
    ]:
        reply = dash.http.request(method, dash.url + path, json=body, timeout=30)
        assert reply.status_code == 409, (path, reply.text)
        assert reply.json()["primary"] == fleet.primary.url
        assert fleet.primary.url in reply.json()["error"] and path in reply.json()["error"]
    assert [r["id"] for r in fleet.primary.get("/api/state").json()["runs"]] == runs_before
    health = dash.get("/api/health").json()  # the pages here show themselves read-only
    assert (health["presenter_required"], health["presenter"]) == (True, False)
    assert fleet.primary.get("/api/server").json()["status"] == "serving"


@pytest.mark.browser
def test_a_page_behind_round_robin_nginx_sees_a_burst_by_websocket(fleet, browser: Browser):
    """Behind a plain round-robin proxy, a long-polling session's requests would reach processes
    that never saw it: the page opens a WebSocket at once (no polling request at all), gets its
    snapshot from whichever viewer-only process nginx chose, and lights the burst's tiles."""
    upstreams = [dash.url.removeprefix("http://") for dash in fleet.viewers]
    with nginx_round_robin(upstreams) as proxy:
        polls: list[str] = []
        sockets: list[WebSocket] = []

        def listen(page) -> None:
            page.on("request", lambda r: polls.append(r.url) if "transport=polling" in r.url else None)
            page.on("websocket", lambda socket: sockets.append(socket))

        with page_at(browser, f"{proxy}/", listen, viewport={"width": 1280, "height": 800}) as page:
            expect(page.locator(".tile")).to_have_count(CAPACITY, timeout=20_000)
            expect(page.locator("#viewer-badge")).to_have_text("viewer (read-only)")
            run = fleet.primary.fire("io", 2 * CAPACITY, 800)
            page.wait_for_function(BUSY_TILES, arg=CAPACITY, timeout=10_000)
            fleet.primary.wait_run(run)
        assert polls == [] and sockets and all("transport=websocket" in s.url for s in sockets)


def test_a_viewer_process_answers_while_its_redis_is_silent():
    """The listener must not stall the unpatched hub: with no primary, nothing is ever published,
    so a greenlet blocked in Redis's plain socket read would hold the hub, and every answer, for
    good. Here Redis is read on an OS thread: the pages, /api/health and a viewer's connection are
    answered, and /api/state says plainly that no view has come (503)."""
    with redis_server() as (queue_url, _redis):
        nowhere = f"http://127.0.0.1:{free_port()}"
        dash = Dashboard("--viewers-only", "--message-queue", queue_url, "--primary", nowhere)
        try:

            def health() -> dict | None:
                assert dash.proc.poll() is None, dash.log()
                try:
                    return requests.get(dash.url + "/api/health", timeout=HEALTH_DEADLINE_S).json()
                except requests.ConnectionError:  # not listening yet
                    return None

            assert wait_for(health, 30, what="the viewer-only process to answer")["primary"] == nowhere
            viewer = Viewer(dash.url)  # the hub answers Socket.IO too
            for _ in range(5):
                assert requests.get(dash.url + "/api/health", timeout=HEALTH_DEADLINE_S).ok
                assert requests.get(dash.url + "/", timeout=HEALTH_DEADLINE_S).ok
            state = requests.get(dash.url + "/api/state", timeout=HEALTH_DEADLINE_S)
            assert state.status_code == 503 and nowhere in state.json()["error"]
            viewer.close()
        finally:
            dash.stop_leaving_nothing(10)


def test_frames_applied_to_a_view_give_the_view_they_were_cut_from():
    """The mirror's law: apply_frame is diff's inverse, removed tasks included."""
    old = {
        "servers": [1],
        "processes": [{"pid": 1}],
        "counters": {"done": 1},
        "runs": [],
        "collector": {},
        "captions": [],
        "scene": None,
        "tasks": {"1:1": {"state": "idle"}, "1:2": {"state": "idle"}},
    }
    new = {**old, "counters": {"done": 2}, "tasks": {"1:1": {"state": "running"}, "1:3": {"state": "idle"}}}
    assert apply_frame(old, diff(old, new)) == new
    assert apply_frame(old, diff(old, old)) == old
    newer = {**new, "runs": [{"id": "r1"}], "tasks": {"1:1": {"state": "idle"}}}
    first, then = {"version": 2, "base": 1, **diff(old, new)}, {"version": 3, "base": 2, **diff(new, newer)}
    merged = merge_frames(first, then)
    assert (merged["base"], merged["version"]) == (1, 3)
    assert apply_frame(old, merged) == apply_frame(apply_frame(old, first), then) == {**newer}


def parts(done: int) -> dict:
    """A view's parts as Broadcaster.base gives them, one process with one task."""
    return {
        **{part: [] for part in ("servers", "runs", "captions")},
        "collector": {},
        "scene": None,
        "counters": {"done": done},
        "processes": [{"pid": 7, "key": "7"}],
        "tasks": {"7:1": {"id": 1, "state": "idle", "request": None}},
    }


def test_the_mirror_follows_frames_from_its_seed_and_seeds_again_after_a_gap():
    """A viewer-only process's newcomers start from the view the next frames apply to: frames that
    come while the view is fetched are applied after it, and a gap in the versions (a frame lost,
    the primary restarted) fetches the view again instead of serving a wrong one. Frames that
    came while none could be sent go on to the viewers merged into one."""
    bases: queue.Queue = queue.Queue()
    sent: list[dict] = []
    mirror = Mirror(
        "http://primary", lambda event, data, skip: sent.append(data), lambda _: bases.get(timeout=10)
    )
    assert mirror.relayed("frame", {"version": 6, "base": 5, "now_ms": 20.0, "tasks": {"7:1": None}})
    assert mirror.relayed("frame", {"version": 7, "base": 6, "now_ms": 30.0, "counters": {"done": 2}})
    mirror.viewers.add("viewer")
    mirror.start()
    wait_for(lambda: sent, what="the merged frame sent")
    assert sent == [
        {"version": 7, "base": 5, "now_ms": 30.0, "tasks": {"7:1": None}, "counters": {"done": 2}}
    ]
    with pytest.raises(NotSeeded):
        mirror.snapshot()
    bases.put({"version": 5, "now_ms": 10.0, "parts": parts(1), "spans": [], "series": []})
    wait_for(lambda: mirror.seeds == 1 and mirror.snapshot()["version"] == 7, what="the kept frames applied")
    assert mirror.snapshot()["counters"] == {"done": 2}
    mirror.relayed(
        "frame", {"version": 8, "base": 7, "now_ms": 40.0, "tasks": {"7:1": parts(0)["tasks"]["7:1"]}}
    )
    wait_for(lambda: mirror.snapshot()["version"] == 8, what="a frame that follows applied")
    assert mirror.snapshot()["processes"][0]["tasks"][0]["id"] == 1
    mirror.relayed("frame", {"version": 12, "base": 11, "now_ms": 50.0, "counters": {"done": 5}})
    with pytest.raises(NotSeeded):
        mirror.snapshot()
    bases.put({"version": 12, "now_ms": 50.0, "parts": parts(5), "spans": [], "series": []})
    wait_for(lambda: mirror.seeds == 2, what="the view fetched again")
    assert (mirror.snapshot()["version"], mirror.snapshot()["counters"]) == (12, {"done": 5})
    mirror.stop()


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--message-queue", "http://127.0.0.1:6379/0"], "scheme must be redis://"),
        (["--message-queue", "redis://:6379/0"], "no host"),
        (["--message-queue", "redis://127.0.0.1:6379/zero"], "must be a number"),
        (["--message-queue", "redis://127.0.0.1:99999/0"], "--message-queue"),
        (["--viewers-only", "--message-queue", "redis://127.0.0.1:6379/0"], "--primary"),
        (["--primary", "http://127.0.0.1:8050"], "--primary is for --viewers-only"),
        (
            ["--viewers-only", "--message-queue", "redis://127.0.0.1:6379/0", "--primary", "x", "--attach"],
            "--primary must look like",
        ),
        (
            [
                "--viewers-only",
                "--message-queue",
                "redis://h:1/0",
                "--primary",
                "http://h:1",
                "--mode",
                "asyncio",
            ],
            "--mode: the primary",
        ),
    ],
)
def test_bad_many_viewer_flags_exit_2_saying_what_is_wrong(flags, said, capsys):
    """Bad flags get a clear error and start nothing (argparse's exit code 2)."""
    with pytest.raises(SystemExit) as exit_:
        parse_args(flags)
    assert exit_.value.code == 2
    assert said in capsys.readouterr().err


def test_an_unreachable_redis_stops_run_py_before_it_starts():
    """A dashboard whose frames would go nowhere does not start silently: exit 2, naming the flag."""
    with redis_server() as (queue, redis_proc):
        redis_proc.terminate()
        redis_proc.wait(10)
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run.py"),
                "--no-browser",
                "--port",
                str(free_port()),
                "--message-queue",
                queue,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert "--message-queue" in done.stderr and "Redis does not answer" in done.stderr
