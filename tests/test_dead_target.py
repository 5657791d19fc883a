"""A server that load is sent to dies: its runs end failed with the reason, at once, and the load
generator sends nothing more to its port (issue 17, fault 1). The model's part on its own, then
real dashboards whose real gunicorn is killed with SIGKILL under a sustained run and a burst."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil

from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from dashboard.loadspec.targets import TargetName
from dashboard.model.dead_target import end_runs_at
from dashboard.model.events import RunAdded, TargetDied, fold
from dashboard.model.live import Model
from dashboard.model.runs import SETTLE_NS, Run
from dashboard.model.sustained_run import SustainedRun
from dashboard.recording.codec import from_json, to_json
from dashboard.servers.manager import free_port
from tests.support import Dashboard, wait_for
from tests.test_launch import BIN, blog_env, launched, own_server  # noqa: F401 (blog_env: a fixture)

REASON = "the server exited"
MS = 1_000_000
# Sent events still on their way when a run reads failed: a refused connection retries after 10 ms,
# so 10 connections send at most 1,000 a second, and the generator's reporter flushes every 50 ms;
# this is half a second of them. The generator itself stops at the cancel (0 more seen here).
AFTER_FAILED = 500


def test_a_death_ends_the_runs_at_that_server_still_going_or_reset_by_it():
    """issue 17, fault 1: a burst whose connections the dying server reset was ended by the
    generator before the death was noticed, as if it had gone to plan ("done", no reason)."""
    going = SustainedRun("s1", Plan(HttpRequest("GET", "/io?ms=100"), 10, 600), 0, TargetName.MANAGED)
    reset = Run("r1", "GET /io", 2, 0, target=TargetName.MANAGED)
    reset.record_reply(0, 50 * MS, 0)
    reset.finish(60 * MS)
    served = Run("r2", "GET /io", 1, 0, target=TargetName.MANAGED)  # ended before the server was last seen
    served.record_reply(0, 5 * MS, 0)
    served.finish(8 * MS)
    elsewhere = Run("r3", "GET /io", 1, 0, target="launched")
    cut = end_runs_at([going, reset, served, elsewhere], TargetName.MANAGED, 10 * MS, 70 * MS, REASON)
    assert cut == ["s1", "r1"]
    assert [(run.state(10**12), run.reason) for run in (going, reset, served, elsewhere)] == [
        ("failed", REASON),
        ("failed", REASON),
        ("done", ""),
        ("running", ""),
    ]


def test_a_run_whose_connections_were_cut_does_not_read_done_before_the_death_is_noticed():
    """issue 17, fault 1, seen again in CI under load: the generator ended a burst its dying server
    reset, and `wait_run` read "done" in the moment before the death was noticed and named the
    reason. A cut connection keeps the run settling, as late agent events do."""
    reset = Run("r1", "GET /io", 2, 0, target=TargetName.MANAGED)
    reset.record_reply(0, 50 * MS, 0)
    reset.finish(60 * MS)
    assert reset.state(60 * MS + 1) == "running"
    end_runs_at([reset], TargetName.MANAGED, 10 * MS, 70 * MS, REASON)
    assert reset.state(80 * MS) == "failed"
    refused_alone = Run("r2", "GET /io", 1, 0, target=TargetName.MANAGED)
    refused_alone.record_reply(0, 5 * MS, 0)
    refused_alone.finish(8 * MS)
    assert refused_alone.state(8 * MS + SETTLE_NS) == "done"  # no death came: it settles as it ended


def test_a_recorded_death_replays_into_the_same_failed_runs():
    """issue 17, fault 1: the death is an event of the log, so a replay folds it as the live model
    did: the burst sent to the dead server fails, the one sent elsewhere runs on."""
    events = [
        RunAdded(1, "r1", "GET /io", 2, 0, TargetName.MANAGED),
        RunAdded(2, "r2", "GET /post/1", 1, 0, "launched"),
        TargetDied(3 * MS, TargetName.MANAGED, 2, REASON),
    ]
    model = Model()
    for event in events:
        fold(model, from_json(json.loads(json.dumps(to_json(event)))))
    assert [(run.state(10**12), run.reason) for run in model.runs.values()] == [
        ("failed", REASON),
        ("running", ""),
    ]


def runs_cut_by_sigkill(dash: Dashboard, server: str, pids: list[int], path: str, slow: str) -> None:
    """Aim sustained load (10 connections for 600 s) and a burst of 8 slow requests at `server`,
    SIGKILL its `pids` once both are under way, then check both runs end failed with the reason,
    and that the generator stops: the sustained run's `sent` stops rising, and by at most
    AFTER_FAILED once the run reads failed (0 here). Before the fix it rose at the dead port for
    the whole 600 s (7,500 refused requests in 9 s in the issue's probe)."""
    sustained = dash.post(
        "/api/load/sustained", {"server": server, "path": path, "connections": 10, "seconds": 600}
    )
    assert sustained.status_code == 202, sustained.text
    burst = dash.post("/api/load", {"server": server, "path": slow, "count": 8})
    assert burst.status_code == 202, burst.text
    runs = [sustained.json()["run"], burst.json()["run"]]

    def run(run_id: str) -> dict:
        return dash.get(f"/api/runs/{run_id}").json()

    wait_for(lambda: run(runs[0])["sent"] >= 10 and run(runs[1])["sent"] == 8, 30, what="both runs under way")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    ended = [dash.wait_run(run_id, timeout=30) for run_id in runs]
    assert [(r["state"], r["reason"]) for r in ended] == [("failed", REASON)] * 2, ended
    seen = {"sent": ended[0]["sent"], "since": time.monotonic()}

    def settled() -> bool:
        sent = run(runs[0])["sent"]
        if sent != seen["sent"]:
            seen["sent"], seen["since"] = sent, time.monotonic()
        return time.monotonic() - seen["since"] >= 1.5

    wait_for(settled, 30, interval=0.1, what="the sustained run's sent to stop rising")
    after = seen["sent"] - ended[0]["sent"]
    print(f"{server}: sent {ended[0]['sent']} when failed, {after} more after it")
    assert after <= AFTER_FAILED, (ended[0], seen)
    assert dash.post("/api/load", {"server": server, "path": path, "count": 1}).status_code == 409


def test_runs_at_the_managed_server_killed_with_sigkill_end_failed_and_stop_sending():
    """issue 17, fault 1: the demo server killed with -9 showed `failed`, but its sustained run
    stayed `running` and sent to the dead port until its time was up, then ended `done`."""
    dash = Dashboard("--workers", "1", "--threads", "4")
    try:
        info = dash.wait_serving()
        dash.wait_processes(1)
        runs_cut_by_sigkill(dash, TargetName.MANAGED, info["pids"], "/io?ms=100", "/io?ms=60000")
        assert dash.get("/api/server").json()["status"] == "failed"
    finally:
        dash.stop_leaving_nothing()


def test_runs_at_a_launched_server_killed_with_sigkill_end_failed_and_stop_sending(blog_env):  # noqa: F811
    """issue 17, fault 1: the same with the user's own gunicorn (`run.py -- gunicorn ...`), whose
    run sent 28,963 requests to the dead port in the issue's probe."""
    dash = launched(str(BIN / "gunicorn"), "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{free_port()}",
                    "--no-control-socket", "blog:create_app()")  # fmt: skip
    try:
        server = wait_for(lambda: _a_target(own_server(dash, processes=1)), 30, what="a launched target")
        master = psutil.Process(server["pids"][0]).ppid()  # gunicorn's master forked the worker
        pids = [master, *server["pids"]]
        runs_cut_by_sigkill(dash, "launched", pids, "/api/slow?ms=100", "/api/slow?ms=10000")
    finally:
        dash.stop_leaving_nothing()


def _a_target(server: dict) -> dict | None:
    """The server once load may go to it (the agent may report its address before the launcher)."""
    return server if server["target"] == "launched" else None
