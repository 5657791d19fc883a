"""The agent on the user's own Python: 3.9 to 3.13, and 3.14 when the machine has it (issue 19:
on 3.9 the launched app never appeared, its agent failed to import). In a venv of each Python
(tests/pythons.py), the blog app launched by `run.py -- COMMAND` is shown with its server's shape,
and every request wrk completed is counted: under gunicorn gthread on every Python, and under
gunicorn's sync and gevent workers and the Flask dev server on the oldest and the newest (about
12 s a case; the Pythons between them add what they could break alone, the import and gunicorn)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from dashboard.servers.manager import free_port
from tests.pythons import app_venv, stack, versions
from tests.support import ROOT, Dashboard, wait_for
from tests.test_launch import own_server, settled_done, wrk

APPS = ROOT / "tests" / "apps"


def gthread(venv: Path, version: str, port: int) -> list[str]:
    return [str(venv / "bin" / "gunicorn"), "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}",
            *stack(version).gunicorn_flags, "blog:create_app()"]  # fmt: skip


def sync(venv: Path, version: str, port: int) -> list[str]:
    return [str(venv / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
            *stack(version).gunicorn_flags, "blog:create_app()"]  # fmt: skip


def gevent(venv: Path, version: str, port: int) -> list[str]:
    return [str(venv / "bin" / "gunicorn"), "-k", "gevent", "-w", "2", "--worker-connections", "50",
            "-b", f"127.0.0.1:{port}", *stack(version).gunicorn_flags, "blog:create_app()"]  # fmt: skip


def dev_server(venv: Path, version: str, port: int) -> list[str]:
    return [str(venv / "bin" / "flask"), "--app", "blog", "run", "--port", str(port)]


# server: (its command, processes, (kind, capacity) shown)
SERVERS = {
    "gthread": (gthread, 2, ("gunicorn gthread", 4)),
    "sync": (sync, 2, ("gunicorn sync", 2)),
    "gevent": (gevent, 2, ("gunicorn gevent", 100)),
    "dev-server": (dev_server, 1, ("werkzeug threaded", None)),
}


def cases() -> list[tuple[str, str]]:
    """(Python, server): gthread on each Python, every server on the oldest and the newest."""
    pythons = versions()
    return [(v, s) for v in pythons for s in SERVERS if s == "gthread" or v in (pythons[0], pythons[-1])]


def accepts(port: int) -> bool:
    """Whether the port takes a connection (closed at once, sending no request)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.integration
@pytest.mark.parametrize(("version", "server"), cases())
def test_the_agent_shows_and_counts_a_launched_app_on_each_python(version, server, tmp_path, monkeypatch):
    """Law: the server is drawn with the shape its real server has, and every request wrk
    completed (and the one probe that found it serving) is counted done, and no more than wrk
    wrote. (A request wrk cut at its stop may be counted failed: the dev server's are.)"""
    venv = app_venv(version)  # made on first use, then found in its cache
    command, processes, shape = SERVERS[server]
    monkeypatch.setenv("BLOG_DATABASE", str(tmp_path / "blog.sqlite"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dash = Dashboard("--chdir", str(APPS), "--", *command(venv, version, port))
    try:
        wait_for(lambda: accepts(port), 30, interval=0.2, what=f"{server} on {version} to listen")
        assert requests.get(f"{url}/post/1", timeout=60).status_code == 200  # the one probe
        found = own_server(dash, processes=processes)
        assert ((found["kind"], found["capacity"]), found["url"]) == (shape, url)
        sent, completed = wrk(f"{url}/post/3", tmp_path)
        settled_done(dash, found["id"], completed + 1)
        (counters,) = [
            s["counters"] for s in dash.get("/api/state").json()["servers"] if s["id"] == found["id"]
        ]
        print(f"Python {version}, {server}: wrk wrote {sent} (+1), completed {completed}; {counters}")
        assert completed + 1 <= counters["done"] <= sent + 1, (counters, sent, completed)
    finally:
        dash.stop_leaving_nothing()
