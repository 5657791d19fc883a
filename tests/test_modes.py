"""Every server mode on a real server, switched live through `POST /api/server`.

One dashboard serves the whole module; each test switches it to the mode it needs, so the
switch itself (old tree gone, new one serving) is exercised between every two tests.
"""

from __future__ import annotations

import math
import sys

import psutil
import pytest

from dashboard.children import Spawner
from dashboard.servers.manager import ServerManager, StartError
from dashboard.servers.modes import REGISTRY
from dashboard.servers.modes.flask_dev import FlaskDevSerial
from tests.support import Dashboard, alive, wait_for

pytestmark = pytest.mark.integration

MODES = {
    "flask-dev-serial",
    "flask-dev-threaded",
    "gunicorn-sync",
    "gunicorn-gthread",
    "uwsgi",
    "eventlet",
    "gunicorn-gevent",
    "asyncio",
    "mod_wsgi",
}

# mode, parameters, capacity (None: unbounded), burst size, service ms. One process where the
# law is exact; gunicorn-sync has two, since its workers accept one connection at a time each.
LAW_CASES = [
    ("flask-dev-serial", {}, 1, 3, 300),
    ("flask-dev-threaded", {}, None, 8, 400),
    ("gunicorn-sync", {"workers": 2}, 2, 5, 300),
    ("gunicorn-gthread", {"workers": 1, "threads": 3}, 3, 7, 300),
    ("uwsgi", {"workers": 1, "threads": 3}, 3, 7, 300),
    ("eventlet", {"pool": 4}, 4, 9, 300),
    ("gunicorn-gevent", {"workers": 1, "connections": 4}, 4, 9, 300),
    ("asyncio", {}, None, 10, 400),
    ("mod_wsgi", {"workers": 1, "threads": 3}, 3, 7, 300),
]
GREEN = [
    ("eventlet", {"pool": 1000}),
    ("gunicorn-gevent", {"workers": 1, "connections": 1000}),
    ("asyncio", {}),
]


@pytest.fixture(scope="module")
def dash():
    dash = Dashboard("--mode", "flask-dev-serial")
    try:
        dash.wait_serving()
        yield dash
    finally:
        dash.stop_leaving_nothing(10)


def switch(dash: Dashboard, mode: str, params: dict) -> dict:
    """Switch to `mode` and wait until each of its worker processes has reported."""
    reply = dash.post("/api/server", {"mode": mode, **params})
    assert reply.status_code == 200, reply.text
    info = reply.json()
    assert info["status"] == "serving" and info["mode"] == mode
    dash.wait_processes(params.get("workers", 1))
    return info


def in_request(state: dict) -> list[dict]:
    return [t for p in state["processes"] for t in p["tasks"] if t["request"] is not None]


def test_modes_api_describes_every_mode_for_the_page(dash):
    """The page needs, per mode: title, the one sentence, parameters and the capacity formula."""
    modes = {m["name"]: m for m in dash.get("/api/modes").json()["modes"]}
    assert set(modes) == MODES
    for mode in modes.values():
        assert mode["title"] and len(mode["sentence"]) > 40 and mode["task"]
        assert mode["capacity_formula"]
        assert mode["task_kind"] in ("thread", "greenlet", "asyncio")
        for param in mode["params"]:
            assert param["min"] <= param["default"] <= param["max"]
    assert "deprecat" in modes["eventlet"]["sentence"]
    assert modes["flask-dev-threaded"]["capacity_default"] is None
    assert modes["gunicorn-gthread"]["capacity_default"] == 8


@pytest.mark.parametrize(
    ("mode", "params", "capacity", "count", "ms"), LAW_CASES, ids=[c[0] for c in LAW_CASES]
)
def test_burst_larger_than_capacity_follows_the_queueing_law(dash, mode, params, capacity, count, ms):
    """peak_busy = capacity (= count when unbounded); makespan ≈ ceil(n / c) · s."""
    info = switch(dash, mode, params)
    assert info["capacity"] == capacity
    run = dash.wait_run(dash.fire("io", count, ms))
    assert (run["sent"], run["done"], run["failed"]) == (count, count, 0)
    slots = capacity or count
    assert run["peak_busy"] == slots, run
    law = math.ceil(count / slots) * ms
    assert law <= run["makespan_ms"] < law + 400, run


def test_threaded_dev_server_runs_each_request_on_a_fresh_thread(dash):
    """werkzeug's threaded=True is no pool: n requests, n threads, each gone after its reply."""
    switch(dash, "flask-dev-threaded", {})
    dash.wait_run(dash.fire("io", 6, 200))
    dash.wait_run(dash.fire("io", 6, 200))

    def all_gone():
        state = dash.get("/api/state").json()
        tasks = [t for p in state["processes"] for t in p["tasks"]]
        return tasks if len(tasks) >= 12 and all(t["state"] == "gone" for t in tasks) else None

    tasks = wait_for(all_gone, 10, what="12 request threads to be seen and gone")
    names = [t["name"] for t in tasks]
    assert len(set(names)) == len(names) >= 12
    assert all("process_request_thread" in name for name in names)


@pytest.mark.parametrize(("mode", "params"), GREEN, ids=[g[0] for g in GREEN])
def test_500_concurrent_io_requests_finish_within_3_s_on_one_os_thread(dash, mode, params):
    """Green threads and asyncio tasks wait for I/O without a thread each: 500 × 1 s in < 3 s."""
    info = switch(dash, mode, params)
    run = dash.wait_run(dash.fire("io", 500, 1000))
    assert (run["done"], run["failed"]) == (500, 0)
    assert run["makespan_ms"] < 3000, run
    assert run["peak_busy"] > 250  # most of them at once, though all are on one OS thread
    worker = psutil.Process(info["pids"][-1])
    assert worker.num_threads() < 10  # the main thread, the agent's reporter, a few helpers
    state = dash.get("/api/state").json()
    kinds = {t["kind"] for p in state["processes"] for t in p["tasks"]}
    assert kinds and kinds <= {"greenlet", "asyncio"}


@pytest.mark.parametrize(("mode", "params"), GREEN, ids=[g[0] for g in GREEN])
def test_cpu_request_stalls_every_other_green_thread(dash, mode, params):
    """A request that computes never yields: the others are starved by it, and the page says so."""
    switch(dash, mode, params)
    waiting = dash.fire("io", 4, 3000)

    def all_waiting():
        tasks = in_request(dash.get("/api/state").json())
        return len(tasks) == 4 and all(t["state"] == "waiting" for t in tasks)

    wait_for(all_waiting, 5, what="4 requests in service, each waiting on its I/O")
    hog = dash.fire("cpu", 1, 1500)

    def stalled():
        state = dash.get("/api/state").json()
        (process,) = [p for p in state["processes"] if p["status"] == "alive"]
        tasks = in_request(state)
        starved = [t for t in tasks if (t["state"], t.get("why")) == ("starved", "hub")]
        blocker = [t for t in tasks if t["request"]["path"] == "/cpu" and t["state"] == "running"]
        if len(starved) == 4 and len(blocker) == 1 and process["stalled_by"] == blocker[0]["id"]:
            return state
        return None

    state = wait_for(stalled, 5, what="the /cpu request to starve the 4 /io ones")
    if mode == "gunicorn-gevent":  # gevent's own names, not its patched threading's Dummy-N
        assert all(t["name"].startswith("Greenlet-") for t in in_request(state)), in_request(state)
    (process,) = [p for p in state["processes"] if p["status"] == "alive"]

    def stack(task_id: int) -> str:
        return dash.get(f"/api/tasks/{process['pid']}/{task_id}").json()["stack"] or ""

    # Frames read from the greenlet / task itself: sys._current_frames() sees OS threads only.
    wait_for(lambda: "burn_python" in stack(process["stalled_by"]), 3, what="the hog's stack")
    starved = next(t for t in in_request(state) if t["state"] == "starved")
    starved_stack = stack(starved["id"])
    assert any(line.startswith(("wait_io ", "io ")) for line in starved_stack.splitlines()), starved_stack
    assert dash.wait_run(hog)["done"] == 1
    assert dash.wait_run(waiting)["done"] == 4
    state = dash.get("/api/state").json()
    assert all(p["stalled_by"] is None for p in state["processes"])


def test_cpu_pool_processes_appear_with_their_cpu(dash):
    """/cpu-pool hands its work to a process pool; the pool's processes report and show CPU."""
    switch(dash, "gunicorn-gthread", {"workers": 1, "threads": 2})
    run = dash.fire("cpu-pool", 2, 3000)

    seen = []

    def pool_busy():
        state = dash.get("/api/state").json()
        seen[:] = [(p["pid"], [(t["name"], t["cpu_pct"]) for t in p["tasks"]]) for p in state["processes"]]
        pool = [t for p in state["processes"] for t in p["tasks"] if t["name"] == "cpu-pool"]
        return pool if len(pool) == 2 and all(t["cpu_pct"] > 20 for t in pool) else None

    try:
        wait_for(pool_busy, 10, what="2 cpu-pool processes, each on a CPU")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; processes and tasks seen last: {seen}") from None
    assert dash.wait_run(run)["done"] == 2


def test_switch_leaves_no_orphans_and_cuts_the_running_burst_short(dash):
    """Every process of the old server (workers, pool processes) is gone when the switch answers."""
    switch(dash, "gunicorn-gthread", {"workers": 2, "threads": 2})
    dash.wait_run(dash.fire("cpu-pool", 1, 10))  # so the old tree has pool processes too
    run = dash.fire("io", 8, 20_000)
    wait_for(lambda: in_request(dash.get("/api/state").json()), 5, what="requests in service")
    server = psutil.Process(dash.get("/api/server").json()["pids"][0])
    old = [server.pid, *(c.pid for c in server.children(recursive=True))]
    assert len(old) >= 4  # orphan guard → master → 2 workers → pool processes

    info = switch(dash, "flask-dev-serial", {})
    assert alive(old) == []
    assert not set(old) & set(info["pids"])
    result = dash.wait_run(run, timeout=10)
    assert result["reason"] == "cut short: the server was switched"
    state = dash.get("/api/state").json()
    assert {p["pid"] for p in state["processes"]}.isdisjoint(old)


def test_mod_wsgi_daemons_serve_as_www_data_and_leave_nothing_after_a_switch(dash):
    """Apache may not serve as root: its daemons run as www-data on the copy of the workload, each
    reports before any request (preloaded), and stopping Apache's group ends every process of it."""
    info = switch(dash, "mod_wsgi", {"workers": 2, "threads": 2})
    apache, *children = info["pids"]
    assert len(children) == 3  # one front process that hands requests on, two daemons
    assert psutil.Process(apache).username() == "root"
    assert {psutil.Process(pid).username() for pid in children} == {"www-data"}
    daemons = {p["pid"] for p in dash.get("/api/state").json()["processes"]}
    assert len(daemons) == 2 and daemons < set(children)
    assert dash.wait_run(dash.fire("io", 4, 200))["peak_busy"] == 4

    switch(dash, "flask-dev-serial", {})
    assert alive(info["pids"]) == []


def test_bad_switch_changes_nothing(dash):
    switch(dash, "gunicorn-sync", {"workers": 1})
    for body in ({"mode": "nope"}, {"mode": "eventlet", "workers": 2}, {"mode": "uwsgi", "threads": 0}):
        reply = dash.post("/api/server", body)
        assert reply.status_code == 400 and reply.json()["error"], body
    info = dash.get("/api/server").json()
    assert (info["mode"], info["status"]) == ("gunicorn-sync", "serving")


class Broken(FlaskDevSerial):
    name = "broken"
    title = sentence = capacity_formula = task = "a server that exits at once"

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return [sys.executable, "-c", "raise SystemExit('no such server: boom')"]


def test_mode_that_fails_to_start_shows_why_and_the_next_switch_works(monkeypatch):
    """The failure reaches the model (what the page draws); the manager stays usable."""
    monkeypatch.setitem(REGISTRY, "broken", Broken())
    drawn: list[dict] = []
    spawner = Spawner()
    manager = ServerManager(spawner, "udp://127.0.0.1:9", lambda info, slots, retired: drawn.append(info))
    try:
        with pytest.raises(StartError, match="boom"):
            manager.switch("broken", {})
        assert (drawn[-1]["status"], drawn[-1]["mode"]) == ("failed", "broken")
        assert "boom" in drawn[-1]["error"]
        info = manager.switch("flask-dev-serial", {})
        assert info["status"] == "serving" and info["error"] is None
    finally:
        pids = manager.info()["pids"]
        manager.stop()
        spawner.close()
    assert pids and alive(pids) == []
