"""The sustained generator (the benchmarks' closed-loop load) against real servers."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dashboard.loadgen.sustained import sustain
from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from dashboard.servers.manager import answers, free_port
from dashboard.servers.modes import get_mode
from tests.support import wait_for
from threadpulse_agent.protocol import Reply, RunEnd, Sent, decode_event
from threadpulse_agent.recorder import Recorder


@pytest.fixture(params=["gunicorn-gthread", "flask-dev-serial"])
def server_url(request):
    """gthread keeps connections alive; the serial dev server (HTTP/1.0) closes every one."""
    mode = get_mode(request.param)
    port = free_port()
    proc = subprocess.Popen(mode.command(mode.validate({}), "127.0.0.1", port), stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers("127.0.0.1", port), 20, what=f"{request.param} to serve")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def gthread_url():
    """The workload under gunicorn gthread (1 × 8 threads: more than any test's connections)."""
    mode = get_mode("gunicorn-gthread")
    port = free_port()
    command = mode.command(mode.validate({"workers": 1, "threads": 8}), "127.0.0.1", port)
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers("127.0.0.1", port), 20, what="gthread to serve")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def silent_url():
    """A server that accepts connections in the kernel and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.integration
def test_every_request_sent_is_answered_or_counted_as_an_error(server_url):
    """Requests go one after another per connection, reopened when the server closes it."""
    recorder = Recorder()
    result = asyncio.run(sustain(server_url, Plan(HttpRequest("GET", "/hello"), 4, 0.5), "s1", recorder))
    events = [decode_event(e) for e in recorder.drain(100_000)]
    sent = [e for e in events if isinstance(e, Sent)]
    replies = [e for e in events if isinstance(e, Reply)]
    assert result["errors"] == 0
    assert result["requests"] > 4
    assert len(sent) == len(replies) == result["requests"]
    assert sorted(e.index for e in replies) == list(range(len(sent)))
    assert {e.status for e in replies} == {200}


@pytest.mark.integration
def test_error_replies_are_counted_not_timed(server_url):
    result = asyncio.run(sustain(server_url, Plan(HttpRequest("GET", "/io?ms=-1"), 2, 0.3)))
    assert result["requests"] == 0
    assert result["errors"] > 0
    assert result["p50_ms"] is None


class Echo(BaseHTTPRequestHandler):
    """Keeps connections alive (HTTP/1.1) and remembers each request's method, path and body."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, bytes]] = []

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Echo.seen.append((self.command, self.path, body))
        reply = b"" if self.command == "HEAD" else b"ok"
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def echo_url():
    Echo.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def events_of(recorder: Recorder) -> list:
    return [decode_event(e) for e in recorder.drain(1_000_000)]


def most_in_flight(events: list) -> int:
    """The most requests sent and not yet replied at any instant, from the events in their order."""
    busy = peak = 0
    for event in events:
        if isinstance(event, Sent):
            busy += 1
            peak = max(peak, busy)
        elif isinstance(event, Reply):
            busy -= 1
    return peak


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD"])
def test_each_method_with_its_json_body_reaches_the_server_as_sent(echo_url, method):
    """A keep-alive connection sends method, path with query and body; HEAD's reply has no body."""
    body = "" if method == "HEAD" else '{"a":[1,2]}'
    plan = Plan(HttpRequest(method, "/items/7?x=1&y=%20", body), 2, 0.3)
    result = asyncio.run(sustain(echo_url, plan))
    assert result["errors"] == 0 and result["requests"] == result["sent"] > 2
    assert set(Echo.seen) == {(method, "/items/7?x=1&y=%20", body.encode())}


@pytest.mark.integration
def test_a_closed_loop_keeps_at_most_n_requests_in_flight_and_reaches_n(gthread_url):
    """Closed loop: each connection sends its next request when the last returns, so in flight ≤ N
    at every instant; with a server of 8 threads and N = 3 it reaches 3."""
    recorder = Recorder()
    asyncio.run(sustain(gthread_url, Plan(HttpRequest("GET", "/io?ms=30"), 3, 1.0), "c1", recorder))
    events = events_of(recorder)
    assert most_in_flight(events) == 3
    assert len([e for e in events if isinstance(e, Reply) and e.status == 200]) >= 3 * 5


@pytest.mark.integration
def test_a_fixed_rate_sends_its_schedule_and_counts_what_it_could_not(gthread_url):
    """Open loop: sent + missed = the schedule exactly (rate × (seconds − ramp/2)); a server that
    cannot keep up makes the generator count missed sends, never slow down."""
    fast = Plan(HttpRequest("GET", "/hello"), 8, 2, "rate", 100, 1)
    result = asyncio.run(sustain(gthread_url, fast))
    assert result["sent"] + result["missed"] == fast.scheduled() == 150
    assert result["errors"] == 0 and result["requests"] == result["sent"]  # missed: see test_loadgen_api

    slow = Plan(HttpRequest("GET", "/io?ms=200"), 1, 1, "rate", 50)  # one connection: ≤ 5 a second
    result = asyncio.run(sustain(gthread_url, slow))
    assert result["sent"] + result["missed"] == 50
    assert 1 <= result["sent"] <= 1 + 1 / 0.2  # one request in flight at a time, each ≥ 200 ms


@pytest.mark.integration
def test_a_ramp_opens_the_connections_one_by_one(gthread_url):
    """Closed loop with a ramp: connection i opens at ramp × i / N, so in the ramp's first fifth at
    most one request (of N = 5) is in flight, and all five are by its end."""
    recorder = Recorder()
    plan = Plan(HttpRequest("GET", "/io?ms=50"), 5, 2.5, ramp_s=2)
    start_ns = time.monotonic_ns() + 100_000_000  # an asyncio sleep is never short: none opens early
    asyncio.run(sustain(gthread_url, plan, "p1", recorder, start_ns=start_ns))
    events = events_of(recorder)
    early = [e for e in events if e.t_ns - start_ns < 0.39e9]
    assert most_in_flight(early) == 1
    assert most_in_flight(events) == 5


def test_cancelled_sustained_load_ends_every_request_and_says_why(silent_url):
    """Stop: requests in flight end without a reply (status 0) and the run ends with the reason."""
    recorder = Recorder()

    async def go() -> None:
        task = asyncio.create_task(
            sustain(silent_url, Plan(HttpRequest("GET", "/"), 4, 60), "x1", recorder, lambda: "stopped")
        )
        await asyncio.sleep(0.5)
        task.cancel()
        await task

    asyncio.run(go())
    events = events_of(recorder)
    sent = [e.index for e in events if isinstance(e, Sent)]
    replies = [(e.index, e.status) for e in events if isinstance(e, Reply)]
    assert sorted(sent) == [0, 1, 2, 3] and sorted(replies) == [(i, 0) for i in range(4)]
    assert [(e.run, e.reason) for e in events if isinstance(e, RunEnd)] == [("x1", "stopped")]


@pytest.mark.parametrize("mode", ["closed", "rate"])
def test_a_server_that_refuses_connections_shows_as_failed_requests(mode):
    """Refused connections were counted in the generator alone: the page saw a run send nothing."""
    port = free_port()  # nothing listens there
    recorder = Recorder()
    plan = Plan(HttpRequest("GET", "/"), 2, 0.3, mode, 20 if mode == "rate" else 0)
    result = asyncio.run(sustain(f"http://127.0.0.1:{port}", plan, "f1", recorder))
    replies = [e for e in events_of(recorder) if isinstance(e, Reply)]
    assert replies and {e.status for e in replies} == {0}
    assert result["errors"] == result["sent"] == len(replies) and result["requests"] == 0
