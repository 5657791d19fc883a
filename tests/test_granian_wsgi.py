"""Granian's WSGI mode on a real server (issue 20): switched to and from live with nothing left,
drawn as one server of its true shape, its Rust-made threads listed as the threads they are, and
every request wrk sends counted; a user's own Granian too. (The law test for 2 × 2 is
tests/test_modes.py's, from the mode's law case.)"""

from __future__ import annotations

import psutil
import pytest
import requests

from dashboard.servers.manager import free_port
from dashboard.servers.modes import REGISTRY
from tests.support import ROOT, Dashboard, alive, serving, wait_for
from tests.test_launch import BIN, blog_env, launched, servers, settled_done, wrk  # noqa: F401
from tests.test_modes import switch

pytestmark = pytest.mark.integration

GRANIAN = {"workers": 2, "threads": 2}
CAPACITY = 4


def tree(dash: Dashboard) -> list[int]:
    """The managed server's processes: its master (the first of its pids) and all under it."""
    server = psutil.Process(dash.get("/api/server").json()["pids"][0])
    return [server.pid, *(c.pid for c in server.children(recursive=True))]


@pytest.fixture(scope="module")
def dash():
    """Starts on gunicorn gthread, so that the first test switches from another threaded mode."""
    yield from serving("--workers", "1", "--threads", "2")


def test_switch_from_gthread_to_granian_leaves_no_gunicorn(dash):
    """The switch answers once Granian's master and both workers run, and gunicorn's tree is gone."""
    old = tree(dash)
    info = switch(dash, "granian", GRANIAN)
    assert alive(old) == []
    assert len(info["pids"]) == 3 and not set(old) & set(info["pids"])  # master and 2 workers
    assert info["capacity"] == CAPACITY


def test_granian_workers_report_one_server_of_their_true_shape(dash):
    """Read by the agent from Granian itself (its master's server object in each forked worker):
    one server of 2 workers × 2 threads, where the WSGI environ alone made each worker a server."""
    url = dash.get("/api/server").json()["url"]
    (server,) = [s for s in dash.get("/api/state").json()["servers"] if s["url"] == url]
    assert (server["kind"], server["workers"], server["threads"]) == ("granian", 2, 2), server
    assert (server["capacity"], server["slots"], server["label"]) == (
        CAPACITY,
        2,
        f"granian 2 × 2 :{url.rsplit(':', 1)[1]}",
    )
    assert len(server["pids"]) == GRANIAN["workers"]


def test_roster_is_each_workers_own_blocking_threads(dash):
    """Granian's blocking threads are started by Rust: Python knows them only as Dummy-N. Each
    worker lists at most its 2 threads, every one a live thread of that process, idle after the
    burst, and drawn in 2 slots."""
    assert dash.wait_run(dash.fire("io", 8, 200))["peak_busy"] == CAPACITY
    state = dash.get("/api/state").json()
    workers = [p for p in state["processes"] if p["status"] == "alive"]
    assert len(workers) == GRANIAN["workers"]
    for worker in workers:
        threads = {t.id for t in psutil.Process(worker["pid"]).threads()}
        tasks = worker["tasks"]
        assert worker["slots"] == GRANIAN["threads"]
        assert 1 <= len(tasks) <= GRANIAN["threads"], tasks
        assert {t["id"] for t in tasks} <= threads, (tasks, threads)
        assert all(t["kind"] == "thread" and t["name"].startswith("Dummy-") for t in tasks), tasks
        assert {t["state"] for t in tasks} == {"idle"}, tasks


def test_every_request_wrk_wrote_is_counted(dash, tmp_path):
    """wrk's 8 keep-alive connections on 2 × 4 (Granian serves as many connections at once as it
    has threads): every request wrk wrote is served and counted once, and its completed count is
    short of that by at most its 8 connections (in flight at its stop)."""
    url = switch(dash, "granian", {"workers": 2, "threads": 4})["url"]
    (server,) = [s for s in dash.get("/api/state").json()["servers"] if s["url"] == url]
    before = settled_done(dash, server["id"], 0)  # the switch's readiness probe reported too
    sent, completed = wrk(f"{url}/hello", tmp_path)
    done = settled_done(dash, server["id"], before + sent) - before
    print(f"Granian 2 x 4: wrk wrote {sent}, completed {completed}; counted {done}")
    assert done == sent and sent - 8 <= completed <= sent, (done, sent, completed)


def test_switch_from_granian_leaves_nothing_of_it(dash):
    """Granian's master, its workers and their Rust threads all end with the switch."""
    old = tree(dash)
    assert len(old) == 3  # Granian's master and its 2 workers
    info = switch(dash, "flask-dev-serial", {})
    assert alive(old) == []
    assert not set(old) & set(info["pids"])


def test_a_users_own_granian_is_shown_with_its_shape_and_counts_what_wrk_sent(blog_env):  # noqa: F811
    """`run.py -- granian ...` on the blog app: the agent reads the shape from Granian itself, so
    the page draws one server "granian 2 × 2" of capacity 4 (not a server per worker), and every
    request wrk wrote is counted. A worker reports once it has served a request; with a
    backpressure of 4 each worker holds 4 of wrk's 8 connections, so both do."""
    port = free_port()
    dash = launched(str(BIN / "granian"), "--interface", "wsgi", "--workers", "2", "--blocking-threads", "2",
                    "--backpressure", "4", "--port", str(port), "--factory", "blog:create_app")  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def own(workers: int) -> dict | None:
        try:
            if workers == 1:
                requests.get(f"{url}/post/1", timeout=5)
        except requests.ConnectionError:
            return None  # not listening yet
        found = [s for s in servers(dash) if not s["managed"]]
        return found[0] if len(found) == 1 and len(found[0]["pids"]) >= workers and found[0]["url"] else None

    try:
        server = wait_for(lambda: own(1), 30, interval=0.1, what="Granian serving")
        before = settled_done(dash, server["id"], 0)  # the probes' last replies reported too
        sent, completed = wrk(f"{url}/post/3", blog_env)
        server = wait_for(lambda: own(2), 30, what="both of Granian's workers to report")
        assert (server["label"], server["capacity"], server["slots"]) == (f"granian 2 × 2 :{port}", 4, 2)
        done = settled_done(dash, server["id"], before + sent) - before
        assert done == sent and sent - 8 <= completed <= sent, (done, sent, completed)
    finally:
        dash.stop_leaving_nothing()


def test_threads_granian_ends_leave_the_roster_and_the_first_stays():
    """Granian starts blocking threads as load needs them and ends those idle longer than its
    timeout (30 s by default, 5 s here), all outside Python: the roster follows the OS, so the two
    it ended are shown gone and then dropped, and only threads the worker has are listed."""
    dash = Dashboard("--chdir", str(ROOT), "--", str(BIN / "granian"), "--interface", "wsgi",
                     "--workers", "1", "--blocking-threads", "3", "--blocking-threads-idle-timeout", "5",
                     "--port", str(free_port()), "workload.wsgi:application")  # fmt: skip

    states: set[str] = set()

    def tasks() -> list[dict] | None:
        state = dash.get("/api/state").json()
        own = [p for p in state["processes"] if p["status"] == "alive"]
        states.update(t["state"] for p in own for t in p["tasks"])
        return own[0]["tasks"] if len(own) == 1 else None

    try:
        wait_for(lambda: [s for s in servers(dash) if s["url"]], 30, what="Granian to listen")
        run = dash.post("/api/load", {"path": "/io?ms=500", "count": 6}).json()["run"]
        assert dash.wait_run(run)["peak_busy"] == 3
        three = wait_for(lambda: (t := tasks()) and len(t) == 3 and t, 10, what="3 threads listed")
        assert all(t["name"].startswith("Dummy-") for t in three), three
        one = wait_for(
            lambda: (t := tasks()) and len(t) == 1 and t, 30, what="2 idle threads ended and dropped"
        )
        (pid,) = [p["pid"] for p in dash.get("/api/state").json()["processes"] if p["status"] == "alive"]
        assert {t.id for t in psutil.Process(pid).threads()} >= {one[0]["id"]}
        assert one[0]["id"] in {t["id"] for t in three} and one[0]["state"] == "idle"
        assert "gone" in states
    finally:
        dash.stop_leaving_nothing()


def test_granian_is_registered_with_workers_and_threads():
    mode = REGISTRY["granian"]
    assert [p.name for p in mode.params] == ["workers", "threads"]
    assert mode.capacity(GRANIAN) == CAPACITY
