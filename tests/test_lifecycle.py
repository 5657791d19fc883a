"""Nothing the dashboard starts outlives it, and nothing it shows outlives what it shows (issue 10).

Every process a test's dashboard starts inherits a tag in its environment, so the tests find them
all wherever they were reparented, and kill what a failing test would leave behind. The last three
tests share one dashboard; the first three each kill theirs.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from tests.support import Dashboard, alive, managed, wait_for

pytestmark = pytest.mark.integration

TAG = "THREADPULSE_TEST_TAG"
# The orphan guard's grace (3 s) after the dashboard's own graceful stop (3 s), with slack for a
# busy machine: before the fix, the probes' leftovers lived 15 s to for ever.
GONE_WITHIN_S = 20.0
STALLED_RUN_ENDS_WITHIN_S = 5.0 + 10.0  # control.HEARTBEAT_DEADLINE_S plus a busy machine's slack


def tagged(tag: str) -> list[psutil.Process]:
    """Every live process carrying `tag`: the dashboard and all it started, orphans included."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(TAG) == tag and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            pass
    return found


def argv_has(proc: psutil.Process, text: str) -> bool:
    try:
        return any(text in arg for arg in proc.cmdline())
    except psutil.Error:
        return False


def uwsgi(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The uWSGI processes among `procs` (not the orphan guard that started one)."""
    out = []
    for proc in procs:
        try:
            if proc.cmdline()[0].endswith("uwsgi"):
                out.append(proc)
        except (psutil.Error, IndexError):
            pass
    return out


def log_folders(procs: list[psutil.Process]) -> set[Path]:
    """The folders in the temp folder holding the logs these processes write."""
    temp = Path(tempfile.gettempdir())
    folders = set()
    for proc in procs:
        try:
            files = proc.open_files()
        except psutil.Error:
            continue
        folders |= {Path(f.path).parent for f in files if Path(f.path).parent.parent == temp}
    return folders


class Tagged:
    """A real dashboard whose every descendant carries a fresh tag; `close` kills any left."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
        self.tag = uuid.uuid4().hex
        with monkeypatch.context() as patch:
            patch.setenv(TAG, self.tag)
            self.dash = Dashboard(*args)

    def left(self) -> list[psutil.Process]:
        return tagged(self.tag)

    def wait_gone(self, timeout: float = GONE_WITHIN_S) -> None:
        """Wait until nothing of the dashboard is left; fail naming what is."""
        try:
            wait_for(lambda: not self.left(), timeout, what="nothing left of the dashboard")
        except AssertionError as exc:
            left = [(p.pid, p.ppid(), " ".join(p.cmdline())[:100]) for p in self.left()]
            raise AssertionError(f"{exc}: left {left}") from None

    def close(self) -> None:
        for proc in self.left():
            proc.kill()
        self.dash.proc.wait(10)


@pytest.fixture
def tagged_dashboard(monkeypatch):
    made: list[Tagged] = []

    def make(*args: str) -> Tagged:
        made.append(Tagged(monkeypatch, *args))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_sigterm_leaves_no_hypercorn_whose_loop_is_stalled_by_cpu_work(tagged_dashboard):
    """Fault 1: Hypercorn handles SIGTERM on its event loop, which /cpu holds for 20 s, so it lived
    on (parent pid 1) after run.py exited. The log folders go with the dashboard too."""
    run = tagged_dashboard("--mode", "asyncio")
    run.dash.wait_serving()
    run.dash.fire("cpu", 2, 20_000)
    wait_for(
        lambda: run.dash.get("/api/state").json()["counters"]["in_service"] >= 1, 15, what="the loop stalled"
    )
    folders = log_folders(run.left())
    assert folders
    run.dash.proc.send_signal(signal.SIGTERM)
    run.dash.proc.wait(20)
    run.wait_gone()
    assert not [f for f in folders if f.exists()]


def kill_9(dash: Dashboard) -> None:
    """kill -9 of the dashboard's processes: run.py's gunicorn master and its worker."""
    master = psutil.Process(dash.proc.pid)
    for proc in [*master.children(), master]:
        proc.kill()


@pytest.mark.parametrize("death", ["sigterm", "kill-9"])
def test_the_dashboard_dying_mid_switch_to_uwsgi_leaves_no_uwsgi(tagged_dashboard, death):
    """Fault 2: SIGTERM to run.py while uWSGI was starting (or kill -9 while its workers load the
    app) left its master and workers listening: workers interrupted while loading take uWSGI's
    need-app path, and the master waits up to its 60 s mercy; nobody followed up with SIGKILL."""
    run = tagged_dashboard("--mode", "flask-dev-serial")
    run.dash.wait_serving()

    def switch() -> None:
        try:
            run.dash.post("/api/server", {"mode": "uwsgi", "workers": 4})
        except requests.RequestException:
            pass  # the dashboard goes away mid-switch: that is the probe

    threading.Thread(target=switch, daemon=True).start()
    if death == "sigterm":
        wait_for(
            lambda: run.dash.get("/api/server").json()["status"] == "starting",
            15,
            what="the switch under way",
        )
        run.dash.proc.send_signal(signal.SIGTERM)
    else:
        wait_for(lambda: len(uwsgi(run.left())) >= 5, 15, interval=0.01, what="uWSGI and 4 workers forked")
        kill_9(run.dash)
    run.dash.proc.wait(20)
    run.wait_gone()


@pytest.mark.parametrize("death", ["sigterm", "kill-9"])
def test_the_dashboard_ending_mid_burst_leaves_no_granian(tagged_dashboard, death):
    """Issue 20's Granian mode held to issue 10: its master, and workers whose blocking threads
    are inside 20 s requests, are gone after run.py's SIGTERM or kill -9 of the dashboard."""
    run = tagged_dashboard("--mode", "granian", "--workers", "2", "--threads", "2")
    run.dash.wait_serving()
    run.dash.wait_processes(2)
    run.dash.fire("io", 8, 20_000)
    wait_for(
        # The kernel spreads the 8 connections by hash: the worker given more has both threads busy.
        lambda: run.dash.get("/api/state").json()["counters"]["in_service"] >= 2,
        15,
        what="blocking threads inside requests",
    )
    if death == "sigterm":
        run.dash.proc.send_signal(signal.SIGTERM)
    else:
        kill_9(run.dash)
    run.dash.proc.wait(20)
    run.wait_gone()


def test_kill_9_of_the_dashboard_leaves_no_pool_processes_or_resource_trackers(tagged_dashboard):
    """Fault 3: the gunicorn worker's /cpu-pool processes and their resource_tracker got no death
    signal (only the guarded child does) and lived on after kill -9 of the dashboard's processes."""
    run = tagged_dashboard("--workers", "1", "--threads", "4")
    run.dash.wait_serving()
    run.dash.fire("cpu-pool", 4, 10_000)
    size = min(4, os.cpu_count() or 1)
    wait_for(lambda: len([p for p in run.left() if argv_has(p, "spawn_main")]) >= size, 20, what="the pool")
    kill_9(run.dash)
    run.wait_gone()


@pytest.fixture(scope="module")
def shared():
    with pytest.MonkeyPatch.context() as monkeypatch:
        run = Tagged(monkeypatch, "--workers", "1", "--threads", "4")
    try:
        run.dash.wait_serving()
        run.dash.wait_processes(1)
        yield run
        run.dash.stop_leaving_nothing(GONE_WITHIN_S)
    finally:
        run.close()


def test_a_killed_worker_takes_its_pool_with_it_and_its_pid_leaves_the_state(shared):
    """Fault 3 (one worker) and fault 9: the pool processes of a gthread worker killed with -9
    lived until the next switch, and /api/state listed the dead worker's pid 8 s later."""
    dash = shared.dash
    (worker,) = dash.get("/api/server").json()["pids"][1:]
    dash.fire("cpu-pool", 2, 10_000)

    def pool() -> list[int]:
        children = psutil.Process(worker).children()
        found = [p.pid for p in children if argv_has(p, "multiprocessing")]
        kinds = [k for k in ("spawn_main", "resource_tracker") if any(argv_has(p, k) for p in children)]
        return found if len(kinds) == 2 else []

    pool_pids = wait_for(pool, 20, what="the worker's pool and its resource tracker")
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: not alive(pool_pids), 10, what=f"the dead worker's pool {pool_pids} gone")

    def pids_agree():
        server = dash.get("/api/server").json()["pids"]
        state = dash.get("/api/state").json()
        shown = {
            p["pid"]
            for p in state["processes"]
            if p["server"] == managed(state)["id"] and p["status"] == "alive"
        }
        return len(server) == 2 and worker not in server and shown == set(server[1:])

    wait_for(pids_agree, 15, what="/api/state's managed workers to be the server's")


def test_a_stopped_load_generator_fails_its_run_after_the_deadline(shared):
    """Also seen: a generator stopped by SIGSTOP left its run `running` for ever."""
    dash = shared.dash
    run = dash.fire("io", 2, 30_000)
    wait_for(lambda: dash.get(f"/api/runs/{run}").json()["sent"] == 2, 10, what="both requests sent")
    generator = wait_for(dash.loadgen, 5, what="the load generator")
    generator.suspend()
    try:
        result = dash.wait_run(run, STALLED_RUN_ENDS_WITHIN_S)
        assert result["state"] == "failed"
        assert "stopped answering" in result["reason"]
        wait_for(lambda: not alive([generator.pid]), 10, what="the stopped generator replaced")
    finally:
        if alive([generator.pid]):
            generator.resume()
    assert dash.wait_run(dash.fire("hello", 3, 0))["done"] == 3


def test_a_dead_server_loses_its_url_and_no_load_goes_to_its_port(shared):
    """Fault 4: a killed server kept its url, so a burst went to whatever bound the port next."""
    dash = shared.dash
    info = dash.post("/api/server", {"mode": "flask-dev-threaded"}).json()
    port = int(info["url"].rsplit(":", 1)[1])
    (server,) = info["pids"]
    os.kill(server, signal.SIGKILL)
    failed = wait_for(
        lambda: (s := dash.get("/api/server").json())["status"] == "failed" and s, 5, what="failed"
    )
    assert failed["url"] is None
    with socket.create_server(("127.0.0.1", port)) as squatter:
        squatter.setblocking(False)
        reply = dash.post("/api/load", {"endpoint": "hello", "count": 3})
        assert reply.status_code == 400, reply.text
        with pytest.raises(BlockingIOError):
            squatter.accept()
