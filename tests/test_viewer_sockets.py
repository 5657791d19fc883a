"""Viewers' WebSockets on a real dashboard (dashboard/web/viewer_sockets.py), from raw sockets: a
message over the advertised limit is refused as it arrives, and viewers that stop reading, or
stop answering pings, are dropped and counted while the others watch on."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import zlib
from collections.abc import Callable, Iterator

import psutil
import pytest

from tests.support import Dashboard, Viewer, wait_for

CHUNK = 64 << 10


def ws_connect(port: int, rcvbuf: int | None = None) -> tuple[socket.socket, dict]:
    """A Socket.IO viewer straight over a WebSocket, as the page connects; with the Engine.IO open
    packet's fields (`maxPayload`, `pingInterval`, ...). `rcvbuf`: its kernel receive buffer."""
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: the window
    handshake(sock, port)
    opcode_byte, length = sock.recv(2, socket.MSG_WAITALL)
    assert opcode_byte == 0x81 and length < 126, (opcode_byte, length)
    message = sock.recv(length, socket.MSG_WAITALL).decode()
    assert message.startswith("0"), message  # Engine.IO's open packet
    return sock, json.loads(message[1:])


def handshake(sock: socket.socket, port: int, headers: str = "") -> bytes:
    """Connect `sock` and upgrade it to a WebSocket on Socket.IO's path; the reply's header."""
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\n{headers}\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n", 1)[0], head
    return head


class Messages:
    """A viewer's messages as the dashboard sent them, raw, and inflated where the viewer asked
    for permessage-deflate (one context for the whole connection, as browsers keep it)."""

    def __init__(self, port: int, deflate: bool = False) -> None:
        self.sock = socket.socket()
        offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
        head = handshake(self.sock, port, offer)
        assert (b"permessage-deflate" in head.lower()) == deflate, head
        self.accepted = head  # the handshake's answer, extensions and their parameters included
        self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        self.compressed = 0

    def next(self) -> tuple[bytes, bytes]:
        """The next data message: (its frame's bytes on the wire, its text as UTF-8)."""
        while True:
            head = self.sock.recv(2, socket.MSG_WAITALL)
            length, extended = head[1] & 0x7F, b""
            if length >= 126:
                extended = self.sock.recv(2 if length == 126 else 8, socket.MSG_WAITALL)
                (length,) = struct.unpack("!H" if length == 126 else "!Q", extended)
            payload = self.sock.recv(length, socket.MSG_WAITALL) if length else b""
            assert head[0] & 0x80, "the dashboard sends each message in one frame"
            if head[0] & 0x0F == 0x1:
                break
        wire = head + extended + payload
        if head[0] & 0x40:  # RSV1: compressed
            self.compressed += 1
            payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
        return wire, payload

    def frames(self, count: int, first: Callable[[bytes], bool]) -> dict[int, tuple[bytes, bytes]]:
        """`count` frames by version, from the first whose text `first` accepts (the frames are
        read as they come, Engine.IO's pings answered)."""
        got: dict[int, tuple[bytes, bytes]] = {}
        while len(got) < count:
            wire, text = self.next()
            if text == b"2":
                self.sock.sendall(frame_header(1) + b"3")
            elif text.startswith(b'42["frame",') and (got or first(text)):
                got[json.loads(text[2:])[1]["version"]] = (wire, text)
        return got


def frame_header(length: int) -> bytes:
    """A masked text frame's header announcing `length` bytes (a zero mask leaves them as sent),
    in the shortest form, as RFC 6455 requires."""
    if length < 126:
        size = bytes([0x80 | length])
    elif length < 1 << 16:
        size = bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        size = bytes([0x80 | 127]) + struct.pack("!Q", length)
    return b"\x81" + size + b"\0\0\0\0"


def join(sock: socket.socket) -> None:
    """Join Socket.IO's default namespace: from then on the viewer is sent every frame."""
    sock.sendall(frame_header(2) + b"40")


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


@pytest.fixture(scope="module")
def gthread_dashboard() -> Iterator[Dashboard]:
    """The old server model (`--dashboard-worker gthread`, Socket.IO in threading mode)."""
    dash = Dashboard("--dashboard-worker", "gthread", "--workers", "1", "--threads", "2")
    try:
        dash.wait_serving()
        yield dash
    finally:
        dash.stop_leaving_nothing(10)


@pytest.mark.parametrize("worker", ["green", "gthread"])
def test_a_frame_announcing_200_mb_is_refused_near_the_limit_and_the_dashboard_serves_on(request, worker):
    """Issue 17, fault 2: a viewer sending one text frame announcing 200,000,015 bytes, then
    streaming it, grew the dashboard's worker by about 190 MB before the connection closed: the
    WebSocket layer read the whole message before Engine.IO compared it with maxPayload."""
    dashboard = request.getfixturevalue("dashboard" if worker == "green" else "gthread_dashboard")
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


RESET = -1


def close_code(sock: socket.socket) -> int | None:
    """The code of the close frame the dashboard sends, reading past any frame before it; RESET if
    the connection is reset (closed with our bytes unread, the kernel may reset it before the
    close frame is read), None if it ends without one; a socket timeout (the dashboard still
    waits) fails the test."""
    try:
        while head := sock.recv(2, socket.MSG_WAITALL):
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length >= 126:
                (length,) = struct.unpack(
                    "!H" if length == 126 else "!Q", sock.recv(2 if length == 126 else 8)
                )
            payload = sock.recv(length, socket.MSG_WAITALL) if length else b""
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0]
    except ConnectionResetError:
        return RESET
    return None


@pytest.mark.parametrize("worker", ["green", "gthread"])
def test_a_frame_announcing_more_than_the_limit_is_refused_from_its_header(request, worker):
    """Issue 17, fault 2, "refused from their header, before their payload is read": a header
    announcing 200 MB and 64 KB of its payload, then nothing more, is answered with close 1009 (a
    message too big), or a reset or an end when the dashboard closes with those bytes unread, and
    counted as oversize. Refused only once the limit had arrived, it waited for the next 936 KB."""
    dashboard = request.getfixturevalue("dashboard" if worker == "green" else "gthread_dashboard")
    refused_before = dropped(dashboard, "oversize")
    sock, _ = ws_connect(dashboard.port)
    try:
        sock.sendall(frame_header(200_000_015) + b"a" * CHUNK)
        assert close_code(sock) in (1009, RESET, None)  # ended, not left waiting for the payload
    finally:
        sock.close()
    wait_for(lambda: dropped(dashboard, "oversize") == refused_before + 1, 10, what="the refusal counted")


STALLED = 10


def ended_by_server(sock: socket.socket) -> bool:
    """Read what the dashboard sent until it ends the connection (FIN or reset): True; a socket
    timeout (`settimeout`) fails the test."""
    try:
        while sock.recv(CHUNK):
            pass
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize("worker", ["green", "gthread"])
def test_viewers_that_never_read_are_dropped_and_counted_while_a_reader_gets_frames(request, worker):
    """Issue 17, fault 7: 30 viewers that never read held 65 MB of kernel send queue for as long
    as they liked: the dashboard's write to each waited for ever, and Engine.IO's ping timeout
    ended their sessions but not the writes stuck under them. On either worker."""
    dashboard = request.getfixturevalue("dashboard" if worker == "green" else "gthread_dashboard")
    before = dropped(dashboard, "not_draining")
    stalled = [ws_connect(dashboard.port, rcvbuf=4096)[0] for _ in range(STALLED)]
    reader = Viewer(dashboard.url)
    try:
        for sock in stalled:
            join(sock)

        def all_dropped() -> bool:
            """Keeps the pools changing, so frames keep coming, until every stalled viewer is out."""
            if not any(run["state"] == "running" for run in dashboard.get("/api/state").json()["runs"]):
                dashboard.fire("io", 20, 300)
            return dropped(dashboard, "not_draining") - before == STALLED

        wait_for(all_dropped, 90, interval=0.5, what=f"{STALLED} viewers that never read to be dropped")
        assert all(ended_by_server(sock) for sock in stalled)
        wait_for(lambda: dashboard.get("/api/health").json()["viewers"] == 1, 10, what="one viewer left")
        metrics = dashboard.get("/metrics").text
        assert f'threadpulse_viewers_dropped_total{{reason="not_draining"}} {before + STALLED}.0' in metrics
        frames = []
        while not reader.events.empty():
            frames.append(reader.events.get_nowait())
        assert any(event[0] == "frame" for event in frames), "the reader got frames while the others stalled"
        since = time.monotonic()
        dashboard.fire("io", 4, 50)
        wait_for(lambda: reader.next(timeout=10)[1] > since, 20, what="a frame to the reader after the drops")
    finally:
        reader.close()
        for sock in stalled:
            sock.close()


def test_a_viewer_that_misses_pings_is_closed_connection_and_all_and_counted(dashboard):
    """Issue 17, fault 7: Engine.IO's ping timeout ended the session of a viewer that never
    answered its pings, but left the connection open for as long as the client liked."""
    before = dropped(dashboard, "ping_timeout")
    sock, opened = ws_connect(dashboard.port)
    try:
        join(sock)  # then reads everything, answers nothing
        sock.settimeout((opened["pingInterval"] + opened["pingTimeout"]) / 1000 + 60)
        assert ended_by_server(sock)
        assert dropped(dashboard, "ping_timeout") == before + 1
    finally:
        sock.close()


def test_every_viewer_reads_the_same_frames_and_viewers_alike_get_the_same_bytes(dashboard):
    """The law of dashboard/web/shared_frame.py: building a broadcast's WebSocket frame once for
    every viewer changes nothing a viewer receives. Viewers without extensions get the very same
    bytes; viewers that asked for permessage-deflate (as browsers do) are answered with
    server_no_context_takeover, so they too get one another's very bytes, compressed, and read
    the same text (inflated with one context for the connection, as browsers keep it)."""
    viewers = [Messages(dashboard.port, deflate=deflate) for deflate in (False, False, True, True)]
    try:
        for viewer in viewers:
            viewer.next()  # Engine.IO's open packet
            join(viewer.sock)
        wait_for(lambda: dashboard.get("/api/health").json()["viewers"] == 4, 10, what="four viewers")
        run = dashboard.fire("io", 8, 200)
        named = f'"{run}"'.encode()  # in frames cut once the run began, when all four watched
        first = viewers[0].frames(4, lambda text: named in text)
        frames = [first] + [
            viewer.frames(4, lambda text: json.loads(text[2:])[1]["version"] == min(first))
            for viewer in viewers[1:]
        ]
        assert frames[0] == frames[1] and frames[2] == frames[3]  # wire bytes and text alike
        assert {v: text for v, (_, text) in frames[2].items()} == {
            v: text for v, (_, text) in frames[0].items()
        }
        assert viewers[2].compressed >= 4 and viewers[0].compressed == 0
        assert all(b"server_no_context_takeover" in viewer.accepted for viewer in viewers[2:])
    finally:
        for viewer in viewers:
            viewer.sock.close()
