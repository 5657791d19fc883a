"""The load generator's one HTTP client (dashboard/loadgen/connection.py), which bursts and
sustained load both send through, against real sockets (issue 18: two hand-written clients)."""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dashboard.loadgen.burst import fire
from dashboard.loadgen.replies import MAX_HEAD
from dashboard.loadgen.sustained import sustain
from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from tests.support import wait_for
from threadpulse_agent.protocol import Reply, RunEnd, Sent, decode_event
from threadpulse_agent.recorder import Recorder

DEADLINE_S = 60  # generous: a request that waited for the server's close would wait 300 s


@contextmanager
def answering(reply: bytes, hold: bool) -> Iterator[str]:
    """A server that writes `reply` once a request's head is in, then holds the connection open
    until the test ends (`hold`) or closes it; its URL."""
    released = threading.Event()

    class Answer(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            self.wfile.write(reply)
            if hold:
                released.wait(DEADLINE_S)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Answer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        released.set()
        server.shutdown()
        server.server_close()


def burst(url: str, count: int) -> list:
    recorder = Recorder()
    request = HttpRequest("GET", "/")
    cut = fire(url, request, "b1", count, recorder, lambda: "cut short at the test's deadline")
    asyncio.run(asyncio.wait_for(cut, DEADLINE_S))
    return [decode_event(e) for e in recorder.drain(10_000)]


def test_a_bursts_request_ends_when_its_reply_is_whole_though_the_server_keeps_the_connection():
    """Issue 18: the burst's own client read until the server closed, so a server that kept the
    connection open despite `Connection: close` held each request until the 300 s timeout, then
    failed it; the one client ends a request when its reply is whole."""
    with answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", hold=True) as url:
        events = burst(url, 3)
    assert sorted(e.index for e in events if isinstance(e, Sent)) == [0, 1, 2]
    assert sorted((e.index, e.status) for e in events if isinstance(e, Reply)) == [(i, 200) for i in range(3)]
    assert [(e.run, e.reason) for e in events if isinstance(e, RunEnd)] == [("b1", "")]


@pytest.mark.parametrize("kind", ["burst", "sustained"])
def test_a_reply_whose_head_is_beyond_the_limit_fails_its_request(kind):
    """Issue 17's bound on a reply's head (replies.MAX_HEAD) held for sustained load alone; a
    burst took any head whose status line fit, and kept the whole reply in memory."""
    reply = b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * (MAX_HEAD + 1) + b"\r\nContent-Length: 0\r\n\r\n"
    with answering(reply, hold=False) as url:
        if kind == "burst":
            statuses = {e.status for e in burst(url, 2) if isinstance(e, Reply)}
            assert statuses == {0}
        else:
            plan = Plan(HttpRequest("GET", "/"), 2, 0.3)
            result = asyncio.run(asyncio.wait_for(sustain(url, plan), DEADLINE_S))
            assert result["errors"] == result["sent"] > 0 and result["requests"] == 0


class Hosts(BaseHTTPRequestHandler):
    """Keeps connections alive and remembers each request's Host header."""

    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def do_GET(self) -> None:
        Hosts.seen.append(self.headers.get("Host", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.mark.parametrize("kind", ["burst", "sustained"])
def test_a_server_on_an_ipv6_address_is_named_bracketed_in_the_host_header(kind):
    """Issue 18 (IPv6 bracketing written several times): the request wrote `Host: ::1:PORT`, which
    names no server; the Host header is now the URL's own HOST:PORT."""
    Hosts.seen = []
    server = IPv6Server(("::1", 0), Hosts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://[::1]:{server.server_address[1]}"
    try:
        if kind == "burst":
            assert {e.status for e in burst(url, 2) if isinstance(e, Reply)} == {200}
        else:
            result = asyncio.run(
                asyncio.wait_for(sustain(url, Plan(HttpRequest("GET", "/"), 1, 0.2)), DEADLINE_S)
            )
            assert result["errors"] == 0 and result["requests"] > 0
    finally:
        server.shutdown()
        server.server_close()
    assert set(Hosts.seen) == {f"[::1]:{server.server_address[1]}"}


def _syn_sent_to(port: int) -> bool:
    """Whether a connection to `port` on this host is still waiting for its handshake (the OS's
    own table: state 02 is SYN_SENT)."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return any(row[2].endswith(f":{port:04X}") and row[3] == "02" for row in rows)


def test_a_request_whose_handshake_is_not_done_at_once_goes_out_when_it_is():
    """The generator writes a request the moment its connect is done, which on loopback is inside
    connect() itself; a server whose accept queue is full drops the SYN, so the handshake ends a
    second later, on the SYN's retransmission: the request must still go out then, whole."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # Linux queues one connection beyond a backlog of 0
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(2):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    events: list = []
    sender = threading.Thread(target=lambda: events.extend(burst(f"http://127.0.0.1:{port}", 1)))
    sender.start()
    try:
        wait_for(lambda: _syn_sent_to(port), timeout=DEADLINE_S, what="the burst's SYN dropped")
        filler_ports = {filler.getsockname()[1] for filler in fillers}
        listener.settimeout(DEADLINE_S)
        while True:
            connection, (_, peer_port) = listener.accept()
            if peer_port not in filler_ports:
                break
            connection.close()
        connection.settimeout(DEADLINE_S)
        with connection, connection.makefile("rb") as head:
            lines = list(iter(head.readline, b"\r\n"))
            connection.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        sender.join(DEADLINE_S)
    finally:
        listener.close()
        for filler in fillers:
            filler.close()
    assert lines[0] == b"GET / HTTP/1.1\r\n" and any(
        line.startswith(b"X-Threadpulse-Tag: b1/0/") for line in lines
    )
    assert [(e.index, e.status) for e in events if isinstance(e, Reply)] == [(0, 204)]
