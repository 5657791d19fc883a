"""The dashboard holds a room: held connections do not lock out the API, the page or the viewers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support import Dashboard, Viewer, wait_for

IDLE, UNFINISHED, VIEWERS = 75, 75, 4
ANSWER_S = 5.0  # generous: this proves an answer comes, the p99 figure lives in bench.viewers


@pytest.fixture(scope="module")
def dashboard() -> Iterator[Dashboard]:
    dash = Dashboard()
    try:
        dash.wait_serving()
        yield dash
    finally:
        dash.stop_leaving_nothing(15)


def _held(port: int) -> list[socket.socket]:
    """IDLE connections that never send a byte, UNFINISHED that stop inside their header."""
    held = []
    for i in range(IDLE + UNFINISHED):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i >= IDLE:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        held.append(sock)
    return held


def test_held_connections_leave_api_page_and_frames_answering(dashboard: Dashboard) -> None:
    """Issue 10, fault 7: about 100 connections that never finish (idle TCP, an unfinished
    header, open pages) held every thread of the dashboard's gthread server, and /api/health,
    GET / and the presenter's POST /api/load went unanswered for over 50 s."""
    held = _held(dashboard.port)
    viewers: list[Viewer] = []
    try:
        viewers = [Viewer(dashboard.url) for _ in range(VIEWERS)]
        for viewer in viewers:
            viewer.next_snapshot(timeout=ANSWER_S)
        started = time.monotonic()
        assert requests.get(dashboard.url + "/api/health", timeout=ANSWER_S).json()["ok"]
        assert requests.get(dashboard.url + "/", timeout=ANSWER_S).status_code == 200
        reply = requests.post(
            dashboard.url + "/api/load", json={"endpoint": "io", "count": 8, "ms": 50}, timeout=ANSWER_S
        )
        assert reply.status_code == 202, reply.text
        for viewer in viewers:  # the burst changes the pools: every viewer gets frames of it
            wait_for(
                lambda v=viewer: v.next(timeout=ANSWER_S)[1] > started,
                timeout=ANSWER_S,
                what="a frame after the burst",
            )
        assert all(_still_open(sock) for sock in held), "the held connections should still be held"
    finally:
        for viewer in viewers:
            viewer.close()
        for sock in held:
            sock.close()


def _still_open(sock: socket.socket) -> bool:
    """Not closed by the dashboard: nothing to read yet (a closed one reads b'' at once)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
