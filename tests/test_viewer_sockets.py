"""Viewers' WebSockets on a real dashboard (dashboard/web/viewer_sockets.py), from raw sockets: a
message over the advertised limit is refused as it arrives."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct

import psutil

from tests.support import Dashboard, Viewer, wait_for

CHUNK = 64 << 10


def ws_connect(port: int) -> tuple[socket.socket, dict]:
    """A Socket.IO viewer straight over a WebSocket, as the page connects; with the Engine.IO open
    packet's fields (`maxPayload`, `pingInterval`, ...)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n", 1)[0], head
    opcode_byte, length = sock.recv(2, socket.MSG_WAITALL)
    assert opcode_byte == 0x81 and length < 126, (opcode_byte, length)
    message = sock.recv(length, socket.MSG_WAITALL).decode()
    assert message.startswith("0"), message  # Engine.IO's open packet
    return sock, json.loads(message[1:])


def frame_header(length: int) -> bytes:
    """A masked text frame's header announcing `length` bytes (a zero mask leaves them as sent)."""
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", length) + b"\0\0\0\0"


def dashboard_worker(dash: Dashboard) -> psutil.Process:
    """The gunicorn worker serving the dashboard: forked from run.py, so its command line."""
    parent = psutil.Process(dash.proc.pid)
    (worker,) = [c for c in parent.children() if c.cmdline() == parent.cmdline()]
    return worker


def stream(sock: socket.socket, most: int) -> int:
    """Send up to `most` bytes of payload; how many the connection took before it was closed."""
    chunk = b"a" * CHUNK
    sent = 0
    try:
        while sent < most:
            sent += sock.send(chunk)
    except (ConnectionResetError, BrokenPipeError):
        pass
    return sent


def dropped(dash: Dashboard, reason: str) -> int:
    return dash.get("/api/health").json()["viewers_dropped"][reason]


def test_a_frame_announcing_200_mb_is_refused_near_the_limit_and_the_dashboard_serves_on(dashboard):
    """Issue 17, fault 2: a viewer sending one text frame announcing 200,000,015 bytes, then
    streaming it, grew the dashboard's worker by about 190 MB before the connection closed: the
    WebSocket layer read the whole message before Engine.IO compared it with maxPayload."""
    worker = dashboard_worker(dashboard)
    refused_before = dropped(dashboard, "oversize")
    rss_before = worker.memory_info().rss
    sock, opened = ws_connect(dashboard.port)
    limit = opened["maxPayload"]
    assert limit == 1_000_000
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)  # so few bytes wait in our kernel
    try:
        sock.sendall(frame_header(200_000_015))
        most = 48 * limit
        sent = stream(sock, most)
        grown = worker.memory_info().rss - rss_before
    finally:
        sock.close()
    # What the connection took: what the server read, plus what the kernels buffer on the way.
    assert sent < 12 * limit, f"the connection took {sent:,} bytes of the announced 200 MB"
    assert grown < 16 * limit, f"the dashboard's worker grew by {grown:,} bytes"
    wait_for(lambda: dropped(dashboard, "oversize") == refused_before + 1, 10, what="the refusal counted")
    viewer = Viewer(dashboard.url)
    try:
        wait_for(lambda: viewer.view, 10, what="a new viewer's snapshot")
    finally:
        viewer.close()
