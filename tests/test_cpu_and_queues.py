"""What the OS says each thread does, on real servers: the GIL shares one core, processes don't,
C code that releases the GIL runs in parallel, and requests queue inside gthread workers."""

from __future__ import annotations

import pytest

from tests.cores import against_control
from tests.support import managed, wait_for

# CPU shares and the GIL, judged alone: beside another lane of tests they would judge its load.
pytestmark = [pytest.mark.integration, pytest.mark.solo]


def busy_tasks(state: dict) -> list[dict]:
    return [t for p in state["processes"] for t in p["tasks"] if t["request"] is not None]


def _in_service_for(dashboard, count: int, after_ms: float) -> dict | None:
    state = dashboard.get("/api/state").json()
    busy = busy_tasks(state)
    return state if len(busy) == count and min(t["request"]["age_ms"] for t in busy) >= after_ms else None


def measured_mid_burst(dashboard, endpoint: str, count: int, ms: int, after_ms: float = 1500) -> dict:
    """The state once `count` requests have been in service long enough for a full CPU window."""
    wait_for(
        lambda: dashboard.get("/api/state").json()["counters"]["in_service"] == 0, 30, what="a quiet pool"
    )
    run = dashboard.fire(endpoint, count, ms)
    state = wait_for(
        lambda: _in_service_for(dashboard, count, after_ms),
        20,
        interval=0.1,
        what=f"{count} × {endpoint} in service for {after_ms} ms",
    )
    state["run"] = run
    return state


def test_four_cpu_bound_threads_share_one_core_and_are_starved_by_the_gil(dashboard):
    """4 × /cpu on one process of 4 threads: each gets about a quarter of what the process gets
    (FIELD-NOTES: 23–27% of one core each), the process at most one core, and the threads spend
    most of the time starved: on the GIL, or, while other processes crowd the machine, on a core
    too (a thread woken to retry the GIL waits in the run queue; seen 10.6 s against 12.1 s).

    Each share is averaged over three consecutive 1 s windows: the GIL is not fair within one
    window (14% beside 33% was seen), and the law is about the share over time. Shares are
    judged against the process's own total, since another process may take part of the core."""
    state = measured_mid_burst(dashboard, "cpu", 4, 3000)
    busy = busy_tasks(state)
    (process,) = state["processes"]
    assert process["cpu_pct"] <= 115
    # One GIL: at most one of them can be on a CPU for most of a window (one ran 14% beside 33%,
    # and once one held it for over half a window), so the others are starved.
    assert sum(t["state"] == "running" for t in busy) <= 1, busy
    assert sum(t["state"] == "starved" for t in busy) >= 3, busy
    on_gil = [t for t in busy if t["why"] == "gil"]
    assert on_gil, busy
    detail = dashboard.get(f"/api/tasks/{process['pid']}/{on_gil[0]['id']}").json()
    assert "waiting for the GIL" in detail["explanation"], detail
    at_first = {t["id"]: dashboard.get(f"/api/tasks/{process['pid']}/{t['id']}").json() for t in busy}
    windows = [busy]
    for n in (1, 2):
        later = wait_for(lambda n=n: _in_service_for(dashboard, 4, 1500 + 1000 * n), 10, what="a next window")
        windows.append(busy_tasks(later))
    shares = [sum(t["cpu_pct"] for w in windows for t in w if t["id"] == i) / len(windows) for i in at_first]
    quarter = sum(shares) / 4
    assert all(0.6 * quarter <= share <= 1.4 * quarter for share in shares), windows
    assert sum(shares) <= 115, shares
    dashboard.wait_run(state["run"])
    for task_id, first in at_first.items():
        detail = dashboard.get(f"/api/tasks/{process['pid']}/{task_id}").json()
        spent = {k: v - first["state_ms"].get(k, 0) for k, v in detail["state_ms"].items()}
        on_gil, on_core, running = (spent.get(k, 0) for k in ("starved:gil", "starved:core", "running"))
        assert on_gil + on_core > 2 * running, spent


def test_c_code_that_releases_the_gil_runs_on_two_cores_at_once(dashboard):
    """2 × /cpu-native (hashing, GIL released) on two threads of one process get what two separate
    processes get on this machine right now (the control, tests/cores.py), and never wait for the
    GIL. Held to a fixed 130%, this failed whenever another process had a core (127% was seen):
    two burners got no more than that either."""
    seen_busy: list[list[dict]] = []

    def process_cpu() -> float:
        state = measured_mid_burst(dashboard, "cpu-native", 2, 3000)
        seen_busy.append(busy_tasks(state))
        dashboard.wait_run(state["run"])
        (process,) = state["processes"]
        return process["cpu_pct"]

    readings = against_control(process_cpu)
    (measured, control) = readings[-1]
    assert measured >= 0.75 * control, (readings, seen_busy)
    assert all(t["state"] == "running" or t["why"] == "core" for busy in seen_busy for t in busy), seen_busy


def test_a_busy_task_can_be_inspected_down_to_its_stack(dashboard):
    state = measured_mid_burst(dashboard, "io", 2, 2000, after_ms=500)
    (process,) = state["processes"]
    task = busy_tasks(state)[0]
    detail = wait_for(
        lambda: (d := dashboard.get(f"/api/tasks/{process['pid']}/{task['id']}").json())["stack"] and d,
        5,
        what="a stack sample",
    )
    assert detail["state"] == "waiting" and detail["phase"] == "io"
    assert "wait_io (work.py" in detail["stack"]
    assert detail["history"][-1]["state"].startswith(("waiting", "running"))
    assert dashboard.get(f"/api/tasks/{process['pid']}/1").status_code == 404
    assert process["sampling_cost_pct"] is not None and process["sampling_cost_pct"] < 1.0
    dashboard.wait_run(state["run"])


def test_processes_run_cpu_work_in_parallel_where_threads_cannot(dashboard):
    """2 × /cpu on gunicorn-sync with 2 workers: two processes, two GILs, two cores. Together
    they get at least 75% of what two plain CPU-burning processes get on this machine right now
    (the control, tests/cores.py), each at least a third of it; threads of one process would
    share one core."""
    server = dashboard.post("/api/server", {"mode": "gunicorn-sync", "workers": 2}).json()
    assert server["capacity"] == 2
    dashboard.wait_processes(2)
    states: list[dict] = []

    def server_cpu() -> float:
        states.append(measured_mid_burst(dashboard, "cpu", 2, 3000))
        dashboard.wait_run(states[-1]["run"])
        return sum(p["cpu_pct"] for p in states[-1]["processes"])

    def each_its_share(control: float) -> bool:
        return all(t["cpu_pct"] >= control / 3 for t in busy_tasks(states[-1]))

    # A reading that straddled a change of background load is taken again for either law (CI saw
    # 143% of a 185% control pass the first while one worker's window read 53%).
    readings = against_control(server_cpu, also=each_its_share)
    (measured, control), state = readings[-1], states[-1]
    assert len({p["pid"] for p in state["processes"] for t in p["tasks"] if t["request"]}) == 2
    assert measured >= 0.75 * control, (readings, state["processes"])
    assert all(t["cpu_pct"] >= control / 3 for t in busy_tasks(state)), (readings, busy_tasks(state))


def test_requests_queue_inside_gthread_workers_when_their_threads_are_busy(dashboard):
    """gunicorn #908: a gthread worker accepts connections while its threads are busy; those
    requests wait in the worker's executor queue, which only the agent can see."""
    server = dashboard.post("/api/server", {"mode": "gunicorn-gthread", "workers": 2, "threads": 2}).json()
    assert server["capacity"] == 4
    dashboard.wait_processes(2)
    run = dashboard.fire("io", 20, 500)

    def queued_inside():
        state = dashboard.get("/api/state").json()
        depths = [p["queue"] or 0 for p in state["processes"] if p["status"] == "alive"]
        return state if sum(depths) > 0 else None

    state = wait_for(queued_inside, 5, interval=0.02, what="a non-empty in-worker queue")
    assert managed(state)["queues"]["in_workers"] > 0
    dashboard.wait_run(run)
    queues = wait_for(
        lambda: (q := managed(dashboard.get("/api/state").json())["queues"])["in_workers"] == 0 and q,
        5,
        what="queues drained",
    )
    assert queues["client"] == 0
