"""The bootstrap (agent/threadpulse_agent/bootstrap/sitecustomize.py) that `run.py -- COMMAND`
puts first on the command's PYTHONPATH: it loads the agent by its path, so the user's packages
keep their names and nothing but the agent comes into reach of the user's program (issue 19)."""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

import flask
import requests

from dashboard.servers.manager import free_port
from tests.support import ROOT, Dashboard
from tests.test_launch import BIN, own_server, settled_done

SHADOW = ROOT / "tests" / "apps" / "shadow"


def test_an_app_whose_own_packages_are_named_workload_and_dashboard_is_watched():
    """issue 19: the bootstrap faked a bare `workload` package to reach the agent, so a user's app
    with its own top-level `workload` got no agent at all ("not injected" on stderr). Now a
    gunicorn serving `workload:create_app()`, whose `workload` imports its own `dashboard`, is
    shown with its shape and every request it served is counted, served by the user's code."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dash = Dashboard("--chdir", str(SHADOW), "--", str(BIN / "gunicorn"), "-w", "1", "--threads", "2",
                     "-b", f"127.0.0.1:{port}", "--no-control-socket", "workload:create_app()")  # fmt: skip
    try:
        server = own_server(dash, processes=1)
        assert (server["kind"], server["capacity"], server["url"]) == ("gunicorn gthread", 2, url)
        for _ in range(5):
            reply = requests.get(url, timeout=10)
            assert reply.text == "served by the user's own workload and dashboard"
        assert settled_done(dash, server["id"], 5) == 5
        assert "not injected" not in dash.log()
    finally:
        dash.stop_leaving_nothing()


def test_an_installed_agents_bootstrap_brings_only_the_agent_into_the_users_python(tmp_path):
    """issue 19: installed from a wheel, the agent sits in site-packages beside the dashboard's
    Flask and everything else of its venv; putting that folder on the user's PYTHONPATH would
    hand all of it to the user's app. The bootstrap folder alone goes there: in a user's Python
    with no Flask of its own, the agent is loaded (from site-packages) and Flask stays missing."""
    site = tmp_path / "site-packages"  # the dashboard's venv: the agent installed beside Flask
    shutil.copytree(ROOT / "agent" / "threadpulse_agent", site / "threadpulse_agent")
    (site / "flask").symlink_to(Path(flask.__file__).parent)
    user = tmp_path / "user-venv"
    venv.create(user, with_pip=False)
    probe = (
        "import importlib.util, json, sys\n"
        "agent = sys.modules.get('threadpulse_agent')\n"
        "print(json.dumps([agent and agent.__file__, importlib.util.find_spec('flask') is not None]))"
    )

    def run(pythonpath: Path) -> list:
        env = {"PYTHONPATH": str(pythonpath), "THREADPULSE_COLLECTOR": f"udp://127.0.0.1:{free_port()}"}
        done = subprocess.run([user / "bin" / "python", "-c", probe], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert run(site) == [None, True]  # the folder a leak would hand over does hold Flask
    agent, flask_found = run(site / "threadpulse_agent" / "bootstrap")
    assert agent == str(site / "threadpulse_agent" / "__init__.py")
    assert not flask_found
