"""How a dashboard running the user's command ends when it was not asked to (dashboard/ending.py):
a command that exits before it ever listens ends run.py with its code; one that served and then
exits leaves the dashboard up; the dashboard's worker killed ends run.py rather than starting an
empty dashboard that runs the user's command again (issue 17)."""

from __future__ import annotations

import os
import signal
import socket
import sys

import psutil
import pytest

from dashboard.servers.manager import free_port
from tests.support import Dashboard, alive, wait_for

# The orphan guard's grace (3 s) after the dashboard's own graceful stop (3 s), with a busy machine's slack.
GONE_WITHIN_S = 20.0


def exited(dash: Dashboard, timeout: float = 60.0) -> int:
    """run.py's exit code, once it exited by itself."""
    wait_for(
        lambda: dash.proc.poll() is not None, timeout, interval=0.1, what=f"run.py to exit: {dash.log()}"
    )
    return dash.proc.returncode


def logged(dash: Dashboard, text: str, timeout: float = 30.0) -> str:
    """The dashboard's output once it holds `text`."""
    return wait_for(lambda: text in dash.log() and dash.log(), timeout, interval=0.1, what=repr(text))


@pytest.mark.parametrize(
    ("command", "code"),
    [(["no-such-command-threadpulse"], 127), (["sh", "-c", "exit 7"], 7)],
    ids=["not-found", "exit-7"],
)
def test_a_command_that_exits_before_it_listens_ends_run_py_with_its_code(command, code):
    """Issue 17, fault 8: `run.py -- no-such-command` printed "your server exited (code 127)" and
    then served an empty dashboard for ever, the command's exit code lost. As ddtrace-run does,
    run.py now exits with the command's code, saying so in one line, and leaves nothing."""
    dash = Dashboard("--", *command)
    try:
        assert exited(dash) == code, dash.log()
        said = f"threadpulse: your command exited (code {code}) before it listened on any port"
        assert dash.log().count(said) == 1, dash.log()
    finally:
        dash.stop()


LISTEN_ONCE = """
import socket, sys
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
server.accept()
sys.exit(5)
"""


def test_a_command_that_served_and_then_exits_leaves_the_dashboard_up():
    """The choice made for issue 17, fault 8: a server that listened and then exits is shown as it
    ended (its exit code said once), and the dashboard stays until Ctrl-C."""
    port = free_port()
    dash = Dashboard("--", sys.executable, "-c", LISTEN_ONCE, str(port))
    try:
        logged(dash, f"threadpulse: your server listens at http://127.0.0.1:{port}")
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        logged(dash, "threadpulse: your server exited (code 5); the dashboard shows what it saw")
        assert dash.get("/api/health").json()["ok"] is True
        assert dash.proc.poll() is None
    finally:
        dash.stop_leaving_nothing()


def test_kill_9_of_the_dashboards_worker_ends_run_py_and_never_reruns_the_command(tmp_path):
    """Issue 17: kill -9 of the dashboard's gunicorn worker silently re-ran the user's command under
    new pids (gunicorn's master forked a new worker, a new and empty dashboard, whose services
    started it again). Now run.py says why and exits 1, the command started once, nothing left."""
    starts, port = tmp_path / "starts", free_port()
    serve = f'echo started >> {starts}; exec "$0" -m http.server {port} --bind 127.0.0.1'
    dash = Dashboard("--", "sh", "-c", serve, sys.executable)
    try:
        logged(dash, f"threadpulse: your server listens at http://127.0.0.1:{port}")
        (worker,) = psutil.Process(dash.proc.pid).children()
        tree = [dash.proc.pid, worker.pid, *(p.pid for p in worker.children(recursive=True))]
        os.kill(worker.pid, signal.SIGKILL)
        assert exited(dash) == 1, dash.log()
        assert f"threadpulse: the dashboard's worker (pid {worker.pid}) died" in dash.log()
        wait_for(lambda: not alive(tree), GONE_WITHIN_S, what=f"no process left of {tree}")
        assert starts.read_text().splitlines() == ["started"]
    finally:
        dash.stop()
