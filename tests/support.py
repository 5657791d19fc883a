"""Helpers the tests share: polling with a deadline, free ports, a real dashboard process."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psutil
import requests
import socketio
from playwright.sync_api import Browser, Page, Playwright
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dashboard.model.tasks import task_key
from dashboard.servers.manager import free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
T = TypeVar("T")


def serving(*flags: str) -> Iterator[Dashboard]:
    """A dashboard started with `flags` whose managed server serves with one process, for a
    module fixture to yield from; stopped after, leaving nothing."""
    dash = Dashboard(*flags)
    try:
        dash.wait_serving()
        dash.wait_processes(1)
        yield dash
    finally:
        dash.stop_leaving_nothing(10)


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless. No `playwright install`: it downloads a browser, which fails
    here; without the background-networking flags Chromium keeps dialling out and is refused."""
    return playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )


@contextmanager
def page_at(
    browser: Browser, url: str, before_load: Callable[[Page], None] | None = None, **context: object
) -> Iterator[Page]:
    """A page opened at `url` in a fresh browser context (`context`: viewport, is_mobile, ...);
    fails the test on any uncaught script error it saw. `before_load` gets the page before it
    goes to `url`, to listen from its first request on."""
    ARTIFACTS.mkdir(exist_ok=True)
    browser_context = browser.new_context(**context)
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if before_load is not None:
        before_load(page)
    page.goto(url)
    yield page
    browser_context.close()
    assert errors == [], f"script errors on {url}: {errors}"


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


def kept_alive_session() -> requests.Session:
    """A session whose GETs go out once more when the kept-alive connection they were sent on had
    just been closed: gunicorn closes one idle for 2 s, and a request sent at that instant is reset
    (CI saw it once: `Connection reset by peer` on a replay test's GET). POSTs are not sent again."""
    session = requests.Session()
    retry = Retry(total=1, connect=1, read=1, status=0, redirect=0, allowed_methods={"GET", "HEAD"})
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


class Dashboard:
    """A real dashboard (`run.py`, gunicorn) managing a real workload server, on free ports."""

    def __init__(
        self,
        *args: str,
        port: int | None = None,
        session: bool = False,
        command: list[str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        """`session`: run.py leads a process group of its own, so a test can Ctrl-C the group.
        `command`: another way to start it than this checkout's run.py (an installed `threadpulse`)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"dashboard-{self.port}.log"
        start = command or [sys.executable, str(ROOT / "run.py")]
        cmd = [*start, "--no-browser", "--port", str(self.port), *args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=session
            )
        self.http = kept_alive_session()

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
        """The run once it is over: done, or failed (cut short, with a reason)."""

        def done():
            result = self.get(f"/api/runs/{run}").json()
            return result if result["state"] != "running" else None

        return wait_for(done, timeout, interval=0.1, what=f"run {run} to finish")

    def loadgen(self) -> psutil.Process | None:
        """The load generator process (one for every run: it stays up between bursts)."""
        for child in _children(self.proc.pid):
            try:
                argv = child.cmdline()
            except psutil.Error:
                continue
            if argv[1:3] == ["-m", "dashboard.loadgen.generator"]:  # not its orphan guard
                return child
        return None

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

    def stop_leaving_nothing(self, timeout: float = 15.0) -> None:
        """Stop, then fail unless every process the dashboard had (servers, generator) exits."""
        pids = self.stop()
        wait_for(lambda: not alive(pids), timeout, what=f"no process left of {pids}")


class Viewer:
    """A python-socketio client that keeps what a page keeps: the snapshot, with each frame applied.

    Like the page, it drops a frame whose `base` is not its version, and asks for a `resync` when
    the frame is ahead of it (frames were missed); an older one is just stale.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None, reconnect: bool = False) -> None:
        self.events: queue.Queue = queue.Queue()
        self.view: dict | None = None
        self.client = socketio.Client(
            reconnection=reconnect, reconnection_delay=0.2, reconnection_delay_max=0.5, randomization_factor=0
        )
        self.client.on("snapshot", self._snapshot)
        self.client.on("frame", self._frame)
        self.client.connect(url, headers=headers or {}, transports=["websocket"], wait_timeout=10)

    def _snapshot(self, data: dict) -> None:
        self.events.put(("snapshot", time.monotonic(), data))
        tasks = {task_key(p["key"], t["id"]): t for p in data["processes"] for t in p["tasks"]}
        processes = [{k: v for k, v in p.items() if k != "tasks"} for p in data["processes"]]
        self.view = {**data, "processes": processes, "tasks": tasks}

    def _frame(self, data: dict) -> None:
        self.events.put(("frame", time.monotonic(), data))
        view = self.view
        if view is None or data["base"] != view["version"]:
            if view is not None and data["base"] > view["version"]:  # missed some: as the page does
                self.client.emit("resync")
            return
        tasks = {**view["tasks"], **data.get("tasks", {})}
        tasks = {key: task for key, task in tasks.items() if task is not None}
        self.view = {**view, **data, "tasks": tasks}

    def next(self, timeout: float = 5.0) -> tuple[str, float, dict]:
        """The next (event, arrival time, data) received."""
        return self.events.get(timeout=timeout)

    def next_snapshot(self, timeout: float = 5.0) -> tuple[str, float, dict]:
        """The next snapshot received, skipping frames (a page drops those until it has one)."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if event[0] == "snapshot":
                return event

    def resynced(self, payload: object = None) -> dict | None:
        """Ask for a snapshot; the one that came within 0.2 s, or None (the dashboard answers a
        viewer's resyncs at most every 0.5 s, so poll this with `wait_for`)."""
        self.client.emit("resync", payload)
        try:
            return self.next_snapshot(timeout=0.2)[2]
        except queue.Empty:
            return None

    def close(self) -> None:
        """Disconnect, or stop reconnecting (whose random back-off would disturb hypothesis)."""
        self.client.shutdown()


def managed(view: dict) -> dict | None:
    """The managed server's entry in a state, snapshot or viewer's view (its `servers`), or None."""
    return next((server for server in view["servers"] if server["managed"]), None)


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


@contextmanager
def udp_listener(timeout: float) -> Iterator[socket.socket]:
    """A UDP socket on a free loopback port, standing in for the collector where a test reads the
    datagrams themselves; `recv` gives up after `timeout` seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        yield sock
