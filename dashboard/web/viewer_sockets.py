"""Viewers' WebSockets, bounded both ways: what a viewer sends and what it leaves unread.

python-engineio serves its WebSocket transport with simple-websocket (in gevent mode, without
gevent-websocket, and in threading mode) but makes it without `max_message_size`: one text frame
announcing 200 MB was read whole, and only then compared with `max_http_buffer_size` (1,000,000,
which the handshake advertises as `maxPayload`); the worker grew by 190 MB (issue 17, fault 2).
Given that limit, simple-websocket refuses the message (close 1009) once it passes it: wsproto
hands over a frame's payload as it arrives, so at most one read (4 KB, or what a compressed read
inflates to) past the limit is held. Measured: the 200 MB frame is cut after 1.75 MB, +3 MB; a
permessage-deflate message of 200 MB (194 KB on the wire), +14 MB.

Its writes wait as long as the socket takes. A viewer that never reads held its greenlet, its
queue of frames and up to 4 MB of kernel send buffer for as long as it liked: Engine.IO's ping
timeout ends its session, but not the write stuck under it (issue 17, fault 7). On the green
worker a write that makes no progress for DRAIN_S aborts the connection (a reset, so the kernel
frees its queue at once), a viewer's send buffer is capped at SEND_BUFFER, and a session
Engine.IO closes (a missed ping) ends its connection too. Each drop is counted by reason.
"""

from __future__ import annotations

import errno
import socket
import struct
import time
from collections.abc import Callable, Iterable
from functools import partial

import engineio
import gevent
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from engineio.async_drivers.gevent import WebSocketWSGI as GeventWebSocketWSGI

# A write that moves no byte for this long ends the viewer. A live page reads every frame as it
# comes; the kernel buffer (SEND_BUFFER, doubled by Linux) absorbs seconds of a phone's stall.
DRAIN_S = 5.0
SEND_BUFFER = 64 << 10
NOT_DRAINING, PING_TIMEOUT, OVERSIZE = "not_draining", "ping_timeout", "oversize"
DROP_REASONS = (NOT_DRAINING, PING_TIMEOUT, OVERSIZE)

Dropped = Callable[[str], None]


def drop_counts(counted: dict[str, int]) -> dict[str, int]:
    """Every reason, those never counted at 0 (a monitor sees the series before the first drop)."""
    return {reason: counted.get(reason, 0) for reason in DROP_REASONS}


class DrainingSocket:
    """The connection as simple-websocket uses it (send, recv, close), whose send gives up, and
    resets the connection, when the viewer's socket takes no byte for `drain_s`."""

    def __init__(self, sock: gevent.socket.socket, drain_s: float, dropped: Dropped) -> None:
        self.sock = sock
        self.drain_s = drain_s
        self.dropped = dropped
        self.aborted = False

    def send(self, data: bytes) -> int:
        """Send all of `data`; BrokenPipeError once the viewer stopped draining (simple-websocket
        takes that as a closed connection; its own `sock.send` could also send only a part)."""
        view = memoryview(data)
        stalled_at = time.monotonic() + self.drain_s
        while view:
            if self.aborted:
                raise BrokenPipeError(errno.EPIPE, "the viewer stopped reading; dropped")
            sent = None
            with gevent.Timeout(max(0.0, stalled_at - time.monotonic()), False):
                sent = self.sock.send(view)
            if sent is None:
                self._abort()
                self.dropped(NOT_DRAINING)
            elif sent:
                view = view[sent:]
                stalled_at = time.monotonic() + self.drain_s
        return len(data)

    def recv(self, size: int) -> bytes:
        return self.sock.recv(size)

    def close(self) -> None:
        self.sock.close()

    def end(self) -> None:
        """Close the connection after what was sent (FIN); the reader sees it end at once."""
        if not self.aborted:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # the reader already closed it
                pass

    def _abort(self) -> None:
        """A reset, not a FIN: the unread queue is dropped by the kernel instead of kept for retries."""
        self.aborted = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()


class _Capped:
    """simple-websocket given Engine.IO's own message limit; counts the messages refused by it."""

    ws: object  # simple_websocket.Server, made by SimpleWebSocketWSGI.__call__

    def __init__(self, handler: Callable, server: engineio.Server, dropped: Dropped) -> None:
        super().__init__(handler, server)
        self.server_args["max_message_size"] = server.max_http_buffer_size
        self.dropped = dropped

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            return super().__call__(environ, start_response)
        finally:
            # simple-websocket leaves the refused message's length behind when it closes for it.
            limit = self.server_args["max_message_size"]
            if getattr(self, "ws", None) is not None and self.ws.incoming_message_len > limit:
                self.dropped(OVERSIZE)


class ThreadedViewerSocket(_Capped, SimpleWebSocketWSGI):
    """The gthread worker's: the message limit only (its writes block an OS thread of their own)."""


class GreenViewerSocket(_Capped, GeventWebSocketWSGI):
    """The green worker's: the message limit, writes that must drain, sessions that end their socket."""

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        sock = environ["gunicorn.socket"]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        environ["gunicorn.socket"] = DrainingSocket(sock, DRAIN_S, self.dropped)
        return super().__call__(environ, start_response)

    def close(self) -> None:
        """Engine.IO's writer ends the session (a missed ping, a server disconnect, the reader's
        end): after the close frame the connection ends too, not when the client pleases."""
        super().close()
        self.ws.sock.end()


def bound_websockets(eio: engineio.Server, dropped: Dropped) -> None:
    """Serve `eio`'s WebSocket transport with the classes above; `dropped(reason)` counts drops."""
    kind = GreenViewerSocket if eio.async_mode == "gevent" else ThreadedViewerSocket
    # engineio picks its transport class from this table; this server's copy only is changed.
    eio._async = {**eio._async, "websocket": partial(kind, dropped=dropped)}
