"""Helpers the tests share: polling with a deadline, free ports, a real dashboard process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
T = TypeVar("T")


def wait_for(
    check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll `check` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value {value!r}")
        time.sleep(interval)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    """A real dashboard (`run.py`, gunicorn) managing a real workload server, on free ports."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"dashboard-{self.port}.log"
        cmd = [sys.executable, str(ROOT / "run.py"), "--no-browser", "--port", str(self.port), *args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, json: object = None, **kwargs) -> requests.Response:
        return self.http.post(self.url + path, json=json, timeout=60, **kwargs)

    def wait_serving(self, timeout: float = 30.0) -> dict:
        def serving():
            if self.proc.poll() is not None:
                raise AssertionError(f"dashboard exited: {self.log()}")
            try:
                info = self.get("/api/server").json()
            except requests.RequestException:
                return None
            if info["status"] == "failed":
                raise AssertionError(f"workload server failed: {info['error']}")
            return info if info["status"] == "serving" else None

        return wait_for(serving, timeout, what="the workload server to serve")

    def wait_processes(self, count: int, timeout: float = 10.0) -> dict:
        """Wait until `count` worker processes have reported through their agents."""

        def reported():
            state = self.get("/api/state").json()
            alive = [p for p in state["processes"] if p["status"] == "alive"]
            return state if len(alive) == count else None

        return wait_for(reported, timeout, what=f"{count} worker processes to report")

    def fire(self, endpoint: str, count: int, ms: int) -> str:
        reply = self.post("/api/load", {"endpoint": endpoint, "count": count, "ms": ms})
        assert reply.status_code == 202, reply.text
        return reply.json()["run"]

    def wait_run(self, run: str, timeout: float = 60.0) -> dict:
        def done():
            result = self.get(f"/api/runs/{run}").json()
            return result if result["state"] == "done" else None

        return wait_for(done, timeout, interval=0.1, what=f"run {run} to finish")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> list[int]:
        """Ctrl-C the dashboard as a user would; returns the pids it had running."""
        pids = [self.proc.pid, *(c.pid for c in _children(self.proc.pid))]
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return pids


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def alive(pids: list[int]) -> list[int]:
    """The pids that still run (zombies count as gone)."""
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.Error:
            pass
    return out
