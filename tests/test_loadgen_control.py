"""Load control with a real generator process, a real collector and real sockets as the server."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest

from dashboard.children import Spawner
from dashboard.collector.udp import Collector
from dashboard.loadgen.control import LoadControl
from dashboard.loadgen.targets import Targets
from dashboard.loadspec.limits import MAX_ACTIVE_RUNS, BadLoadRequest
from dashboard.loadspec.targets import TargetName
from dashboard.model.store import Store
from tests.support import alive, wait_for


class Hello(BaseHTTPRequestHandler):
    """Answers every request at once, and remembers the tags it saw."""

    tags: list[str] = []

    def do_GET(self) -> None:
        Hello.tags.append(self.headers.get("X-Threadpulse-Tag", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class Rig:
    """A LoadControl as the dashboard builds it, aimed at `url` (None: no server serving)."""

    def __init__(self) -> None:
        self.store = Store()
        self.collector = Collector(self.store)
        self.collector.start()
        self.spawner = Spawner()
        self.targets = Targets()
        self.control = LoadControl(self.store, self.spawner, self.collector.url, self.targets)

    @property
    def url(self) -> str | None:
        return self.targets.urls().get(TargetName.MANAGED)

    @url.setter
    def url(self, url: str | None) -> None:
        """Register the server at `url` as the managed one (None: none serves), as services.py does."""
        if url is None:
            self.targets.remove(TargetName.MANAGED)
        else:
            self.targets.add(TargetName.MANAGED, url)

    def run(self, run: str) -> dict:
        return self.store.use(lambda model: model.runs[run].summary(time.monotonic_ns()))

    def wait_state(self, run: str, state: str) -> dict:
        def reached() -> dict | None:
            self.control.reap()  # as the dashboard's periodic task does
            summary = self.run(run)
            return summary if summary["state"] == state else None

        return wait_for(reached, timeout=20, what=f"run {run} {state}")

    def close(self) -> None:
        self.control.close()
        self.spawner.close()
        self.collector.stop()


@pytest.fixture
def rig():
    rig = Rig()
    yield rig
    rig.close()


@pytest.fixture
def silent_server():
    """A server that accepts connections in the kernel and never answers: requests stay in flight."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def generators() -> list[int]:
    """The pids of the load generators this test process started (through its Spawner).

    Polled: while the orphan guard execs the generator its command line can read empty."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.cmdline()[1:3] == ["-m", "dashboard.loadgen.generator"]:  # not its guard
                out.append(child.pid)
        except psutil.Error:
            pass
    return out


def test_a_burst_without_a_serving_server_is_refused_and_records_nothing(rig):
    """Load goes to the managed server only; with none serving there is nowhere to send it."""
    with pytest.raises(BadLoadRequest, match="no workload server"):
        rig.control.fire({"endpoint": "hello", "count": 1})
    rig.url = "http://127.0.0.1:9"
    with pytest.raises(BadLoadRequest, match="endpoint must be one of"):
        rig.control.fire({"endpoint": "http://elsewhere/", "count": 1})
    assert rig.store.use(lambda model: dict(model.runs)) == {}


def test_a_burst_is_sent_by_the_generator_and_its_run_completes(rig):
    """Every request of a burst is sent, tagged with its run, and answered; the run then ends done."""
    Hello.tags = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rig.url = f"http://127.0.0.1:{server.server_address[1]}"
        run = rig.control.fire({"endpoint": "hello", "count": 3})
        summary = rig.wait_state(run, "done")
    finally:
        server.shutdown()
        server.server_close()
    assert (summary["sent"], summary["done"], summary["failed"]) == (3, 3, 0)
    assert sorted(tag.split("/")[:2] for tag in Hello.tags) == [[run, "0"], [run, "1"], [run, "2"]]


def test_a_generator_that_dies_fails_its_runs_and_the_next_burst_gets_a_new_one(rig, silent_server):
    """A run must not stay "running" for ever when the process sending it is gone. The dead one's
    command pipe was left open, one descriptor leaked per generator (a ResourceWarning here)."""
    rig.url = silent_server
    run = rig.control.fire({"endpoint": "io", "count": 2, "ms": 10})
    wait_for(lambda: rig.run(run)["sent"] == 2, what="both requests sent")
    (first,) = wait_for(generators, what="the generator")
    os.kill(first, signal.SIGKILL)
    summary = rig.wait_state(run, "failed")
    assert summary["reason"] == "the load generator was killed (signal 9)"
    again = rig.control.fire({"endpoint": "io", "count": 1, "ms": 10})
    wait_for(lambda: rig.run(again)["sent"] == 1, what="the next burst sent")
    wait_for(lambda: [pid for pid in generators() if pid != first], what="a new generator")


def test_bursts_beyond_the_limit_are_refused_until_stop_ends_them(rig, silent_server):
    """At most MAX_ACTIVE_RUNS at once; stop cuts every one short, with the reason, and frees them."""
    rig.url = silent_server
    runs = [rig.control.fire({"endpoint": "io", "count": 1, "ms": 10}) for _ in range(MAX_ACTIVE_RUNS)]
    with pytest.raises(BadLoadRequest, match="already running"):
        rig.control.fire({"endpoint": "io", "count": 1, "ms": 10})
    assert rig.control.stop_all("the presenter stopped it") == sorted(runs)
    for run in runs:
        summary = rig.run(run)
        assert (summary["state"], summary["reason"]) == ("failed", "the presenter stopped it")
    rig.control.fire({"endpoint": "io", "count": 1, "ms": 10})


def test_closing_ends_the_runs_and_leaves_no_generator(rig, silent_server):
    """The dashboard exiting takes its children with it (DESIGN: nothing outlives the dashboard)."""
    rig.url = silent_server
    run = rig.control.fire({"endpoint": "io", "count": 1, "ms": 10})
    pids = wait_for(generators, what="the generator")
    rig.control.close()
    assert rig.run(run)["reason"] == "the dashboard stopped"
    wait_for(lambda: not alive(pids), what=f"generator {pids} gone")
