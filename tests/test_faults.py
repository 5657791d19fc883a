"""Faults on real processes: killed workers, servers and load generators, a restarted dashboard,
and an agent with no collector. The dashboard must say what happened and keep going.

The module's tests share one dashboard and run in file order; the last one restarts it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial

import pytest
from flask import Flask

from dashboard.model.tasks import task_key
from dashboard.servers.manager import answers, free_port
from tests.support import ROOT, Dashboard, Viewer, alive, managed, wait_for
from threadpulse_agent import ENV_COLLECTOR
from threadpulse_agent.middleware import AgentMiddleware
from threadpulse_agent.protocol import Begin, End, decode_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.tasks import TaskRegistry

CAPACITY = 4  # conftest's dashboard serves 1 worker × 4 threads
REPLACED_WITHIN_S = 1.0 + 0.05 + 0.1  # the 1 s, the agent's flush, the /proc sampler's tick
RECONNECTED_WITHIN_S = 3.0

NO_COLLECTOR_SCRIPT = """
import json, threading
from workload import create_app
app = create_app()
client = app.test_client()
codes = sorted({client.get("/hello").status_code for _ in range(%d)})
reporter = [t for t in threading.enumerate() if t.name == "threadpulse-reporter"]
print(json.dumps({"codes": codes, "reporter_alive": bool(reporter) and reporter[0].is_alive(),
                  "dropped": app.wsgi_app.__self__.recorder.dropped}))
"""


def alive_pids(state: dict) -> list[int]:
    return [p["pid"] for p in state["processes"] if p["status"] == "alive"]


def test_with_no_collector_listening_the_workload_serves_and_nothing_raises():
    """Sources never wait on the dashboard: datagrams to a closed UDP port are simply lost."""
    closed = f"udp://127.0.0.1:{free_port(kind=socket.SOCK_DGRAM)}"
    out = subprocess.run(
        [sys.executable, "-c", NO_COLLECTOR_SCRIPT % 3000],
        cwd=ROOT,
        env={**os.environ, ENV_COLLECTOR: closed, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result == {"codes": [200], "reporter_alive": True, "dropped": 0}


def test_an_agent_buffer_nobody_drains_stays_at_its_limit_and_counts_what_it_drops():
    """The agent's memory is bounded whatever happens to its reporter: drop and count, never block."""
    app = Flask(__name__)
    app.get("/hello")(lambda: "hi")
    recorder = Recorder(limit=100)
    app.wsgi_app = AgentMiddleware(app.wsgi_app, recorder, TaskRegistry())
    client = app.test_client()
    for _ in range(500):
        with client.get("/hello") as response:  # closing the body records the request's end
            assert response.status_code == 200
    assert len(recorder.events) == 100  # the first requests' records, appended at their begin
    assert recorder.dropped == 400 * 2  # a begin and an end for each request past the limit
    events = [decode_event(list(event)) for event in recorder.drain(most=10_000)]
    assert [type(event) for event in events] == [Begin, End] * 100  # theirs, whole


@pytest.mark.integration
def test_a_worker_killed_mid_burst_fails_its_requests_and_is_replaced_within_a_second(dashboard):
    """kill -9 of a gunicorn worker: its requests in flight fail, it is shown gone, its replacement
    appears (with its empty slots) within 1 s, and the next burst runs normally."""
    state = dashboard.wait_processes(1)
    (old,) = alive_pids(state)
    failed_before = state["counters"]["failed"]
    run = dashboard.fire("io", 2 * CAPACITY, 3000)
    wait_for(
        lambda: dashboard.get("/api/state").json()["counters"]["in_service"] == CAPACITY,
        10,
        what="the worker's every thread to be busy",
    )
    os.kill(old, signal.SIGKILL)

    def replaced():
        state = dashboard.get("/api/state").json()
        gone = [p for p in state["processes"] if p["pid"] == old and p["status"] == "gone"]
        new = [p for p in state["processes"] if p["pid"] != old and p["status"] == "alive"]
        return state if gone and new else None

    state = wait_for(replaced, REPLACED_WITHIN_S, interval=0.02, what="the worker shown gone and replaced")
    (killed,) = [p for p in state["processes"] if p["pid"] == old]
    assert {t["state"] for t in killed["tasks"]} == {"gone"}
    (new,) = [p for p in state["processes"] if p["status"] == "alive"]
    assert new["slots"] == CAPACITY

    result = dashboard.wait_run(run)
    assert result["sent"] == 2 * CAPACITY
    assert result["failed"] >= CAPACITY
    assert result["done"] + result["failed"] == 2 * CAPACITY
    assert result["peak_busy"] <= CAPACITY
    assert dashboard.get("/api/state").json()["counters"]["failed"] >= failed_before + CAPACITY
    assert dashboard.wait_run(dashboard.fire("hello", 3, 0))["done"] == 3


@pytest.mark.integration
def test_a_load_generator_killed_mid_run_ends_its_run_as_failed_with_a_reason(dashboard):
    """The run does not hang: it ends failed, says why, and the dashboard fires the next one."""
    run = dashboard.fire("io", CAPACITY, 2000)
    wait_for(lambda: dashboard.get(f"/api/runs/{run}").json()["sent"] == CAPACITY, 10, what="every send")
    wait_for(dashboard.loadgen, 5, what="the load generator").kill()

    result = wait_for(
        lambda: (r := dashboard.get(f"/api/runs/{run}").json())["state"] != "running" and r,
        2,
        what="the run to end",
    )
    assert result["state"] == "failed"
    assert "killed" in result["reason"]
    wait_for(
        lambda: dashboard.get("/api/state").json()["counters"]["in_service"] == 0,
        5,
        what="the requests already sent to finish on the server",
    )
    assert dashboard.wait_run(dashboard.fire("hello", 3, 0))["state"] == "done"


@pytest.mark.integration
def test_a_dead_server_is_shown_failed_and_restarts_in_the_same_mode(dashboard):
    """The page learns of the death from its frames; POST /api/server with the same mode and sizes
    (what the page's restart button sends) brings it back."""
    viewer = Viewer(dashboard.url)
    try:
        master, *workers = dashboard.get("/api/server").json()["pids"]
        os.kill(master, signal.SIGKILL)  # the gunicorn master: the whole server is gone
        failed = wait_for(
            lambda: viewer.view and (server := managed(viewer.view))["status"] == "failed" and server,
            5,
            what="the page to be told the server failed",
        )
        assert "exited" in failed["error"]
        assert dashboard.get("/api/server").json()["status"] == "failed"
        wait_for(lambda: not alive(workers), 5, what=f"the orphaned workers {workers} to be gone")
        wait_for(
            lambda: all(p["status"] == "gone" for p in viewer.view["processes"]),
            5,
            what="the page to show the dead server's workers gone",
        )
    finally:
        viewer.close()

    again = dashboard.post("/api/server", {"mode": failed["mode"], **failed["params"]})
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "serving"
    assert again.json()["capacity"] == CAPACITY
    dashboard.wait_processes(1)
    assert dashboard.wait_run(dashboard.fire("hello", 3, 0))["done"] == 3


@pytest.mark.integration
def test_open_pages_reconnect_to_a_restarted_dashboard_and_get_its_full_state(dashboard):
    """Within 3 s of the new dashboard answering, a page that was open has its full snapshot, and
    its frames then keep it equal to GET /api/state. (Runs last: it replaces the module's dashboard.)"""
    viewer = Viewer(dashboard.url, reconnect=True)
    try:
        assert viewer.next()[0] == "snapshot"
        dashboard.stop()
        wait_for(lambda: not viewer.client.connected, 5, what="the page to notice")
        viewer.events.queue.clear()
        again = Dashboard("--workers", "1", "--threads", str(CAPACITY), port=dashboard.port)
        try:
            health = partial(answers, "127.0.0.1", again.port, "/api/health")
            wait_for(health, 30, interval=0.02, what="the new dashboard to answer")
            answered = time.monotonic()
            _, arrived, _ = viewer.next_snapshot(timeout=answered + RECONNECTED_WITHIN_S - time.monotonic())
            assert arrived - answered <= RECONNECTED_WITHIN_S
            again.wait_serving()
            state = again.wait_processes(1)
            wait_for(
                lambda: _page_shows(viewer.view, again.get("/api/state").json()),
                5,
                what=f"the page to show what /api/state says: {state['servers']}",
            )
        finally:
            again.stop_leaving_nothing(10)
    finally:
        viewer.close()


def _page_shows(view: dict | None, state: dict) -> bool:
    """The page's view and the API's state agree on the server, its processes and its tasks."""
    if view is None:
        return False
    tasks = {task_key(p["pid"], t["id"]) for p in state["processes"] for t in p["tasks"]}
    processes = [{k: v for k, v in p.items() if k != "tasks"} for p in state["processes"]]
    return (
        view["servers"] == state["servers"] and view["processes"] == processes and set(view["tasks"]) == tasks
    )
