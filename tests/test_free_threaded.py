"""The free-threaded build (`make free-threaded`, issue 20) on real servers: its agent reports the
GIL off, four CPU-bound threads of one gunicorn gthread worker use the machine's cores as two
processes would (the control, tests/cores.py), and no thread is ever judged to wait on the GIL."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.servers import free_threaded
from dashboard.servers.manager import free_port
from tests.cores import against_control
from tests.support import ROOT, Dashboard, alive, page_at, serving, wait_for
from tests.test_cpu_and_queues import busy_tasks, measured_mid_burst
from tests.test_launch import own_server


def test_make_free_threaded_finds_its_build_and_says_so():
    """Built once (keyed by the source version and the pins), found again at once."""
    said: list[str] = []
    assert free_threaded.prepare(said.append) == free_threaded.PYTHON
    assert said == [f"== the free-threaded Python is up to date ({free_threaded.PYTHON})"]


@pytest.fixture(scope="module")
def free_dashboard():
    """gunicorn gthread 1 × 4 on the free-threaded build; fails (never skips) when it is not built."""
    assert free_threaded.missing() is None, free_threaded.missing()
    yield from serving("--workers", "1", "--threads", "4", "--python", "free-threaded")


def _python(dashboard) -> dict | None:
    return dashboard.get("/api/server").json()["python"]


@pytest.mark.integration
def test_the_free_threaded_build_reports_its_gil_off_through_the_agent(free_dashboard):
    info = free_dashboard.get("/api/server").json()
    assert info["interpreter"] == "free-threaded"
    python = wait_for(lambda: _python(free_dashboard), 10, what="the agent's interpreter")
    assert python["gil"] is False and python["version"].startswith("3.13."), python
    (server,) = free_dashboard.get("/api/state").json()["servers"]
    assert server["python"] == python


@pytest.mark.integration
@pytest.mark.solo
def test_four_cpu_bound_threads_use_the_cores_and_none_waits_on_the_gil(free_dashboard):
    """4 × /cpu on one process of 4 threads: with the GIL they share one core (test_cpu_and_queues);
    without it the process gets at least 75% of what two plain CPU-burning processes get now, and
    each thread is running or waiting for a core, never starved by the GIL."""
    seen: list[dict] = []

    def process_cpu() -> float:
        state = measured_mid_burst(free_dashboard, "cpu", 4, 3000)
        seen.append(state)
        free_dashboard.wait_run(state["run"])
        (process,) = state["processes"]
        return process["cpu_pct"]

    readings = against_control(process_cpu)
    (measured, control) = readings[-1]
    assert measured >= 0.75 * control, (readings, [busy_tasks(s) for s in seen])
    for state in seen:
        assert all(t["why"] != "gil" for t in busy_tasks(state)), busy_tasks(state)
    assert any("threads computing at once: no GIL" in c for s in seen for c in s["captions"]), seen
    (process,) = free_dashboard.get("/api/state").json()["processes"]
    for task in process["tasks"]:
        detail = free_dashboard.get(f"/api/tasks/{process['pid']}/{task['id']}").json()
        assert "starved:gil" not in detail["state_ms"], detail


@pytest.mark.integration
@pytest.mark.parametrize(("mode", "params"), [("flask-dev-threaded", {}), ("gunicorn-sync", {"workers": 1})])
def test_the_dev_server_and_gunicorn_sync_run_free_threaded_too(free_dashboard, mode, params):
    reply = free_dashboard.post("/api/server", {"mode": mode, **params, "python": "free-threaded"})
    assert reply.status_code == 200, reply.text
    free_dashboard.wait_processes(1, 20)
    python = wait_for(lambda: _python(free_dashboard), 20, what=f"{mode}'s interpreter")
    assert python["gil"] is False, python


@pytest.mark.integration
def test_granian_runs_free_threaded_as_one_process_holding_every_workers_threads(free_dashboard):
    """Issue 20: on a free-threaded Python Granian runs its workers as threads of one process (its
    MTServer); the manager waited for worker processes that never came and ended it after 20 s.
    Now it waits for one process, drawn with all 2 × 2 blocking threads as its slots, and a burst
    larger than them is served 4 at a time and counted exactly; switched away, nothing is left.
    (It also puts the module's dashboard back on gthread 1 × 4.)"""
    reply = free_dashboard.post(
        "/api/server", {"mode": "granian", "workers": 2, "threads": 2, "python": "free-threaded"}
    )
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["pids"]) == 1 and reply.json()["capacity"] == 4, reply.json()
    free_dashboard.wait_processes(1, 20)
    url = reply.json()["url"]

    def server() -> dict | None:
        found = [s for s in free_dashboard.get("/api/state").json()["servers"] if s["url"] == url]
        return found[0] if found and found[0]["python"] else None

    shape = wait_for(server, 20, what="Granian's shape and interpreter from its agent")
    assert shape["python"]["gil"] is False, shape
    assert (shape["kind"], shape["workers"], shape["threads"]) == ("granian, 2 workers as threads", 1, 4)
    assert (shape["capacity"], shape["slots"]) == (4, 4), shape
    run = free_dashboard.wait_run(free_dashboard.fire("io", 12, 300))
    assert (run["state"], run["sent"], run["done"], run["failed"]) == ("done", 12, 12, 0), run
    assert run["peak_busy"] == 4, run
    back = free_dashboard.post(
        "/api/server", {"mode": "gunicorn-gthread", "workers": 1, "threads": 4, "python": "free-threaded"}
    )
    assert back.status_code == 200, back.text
    assert alive(reply.json()["pids"]) == []  # it panics on SIGTERM there: the guard ends it all


@pytest.mark.integration
def test_the_page_says_the_gil_is_off_in_the_servers_header_and_the_legend(free_dashboard, browser):
    """Where people look: the header says "Python 3.13.x · GIL off", the starved legend no GIL."""
    python = wait_for(lambda: _python(free_dashboard), 10, what="the agent's interpreter")
    with page_at(browser, f"{free_dashboard.url}/") as page:
        head = page.locator(".server-head .server-python")
        expect(head).to_have_text(f"Python {python['version']} · GIL off", timeout=15_000)
        expect(page.locator("#no-gil-note")).to_be_visible()


@pytest.mark.integration
def test_a_launched_app_on_the_free_threaded_python_is_shown_with_its_gil_off(tmp_path, monkeypatch):
    """run.py -- COMMAND: the user's gunicorn on a free-threaded venv, its interpreter read by the
    agent in its real workers, not assumed from anything the dashboard started."""
    monkeypatch.setenv("BLOG_DATABASE", str(tmp_path / "blog.sqlite"))
    port = free_port()
    gunicorn = free_threaded.VENV / "bin" / "gunicorn"
    command = [str(gunicorn), "-w", "1", "--threads", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket"]
    dash = Dashboard("--chdir", str(ROOT / "tests" / "apps"), "--", *command, "blog:create_app()")
    try:
        found = own_server(dash, processes=1)
        python = wait_for(
            lambda: next(
                s["python"] for s in dash.get("/api/state").json()["servers"] if s["id"] == found["id"]
            ),
            10,
            what="the launched server's interpreter",
        )
        assert python["gil"] is False and python["version"].startswith("3.13."), python
    finally:
        dash.stop_leaving_nothing()
