"""Viewers' WebSockets, bounded both ways: what a viewer sends and what it leaves unread.

python-engineio serves its WebSocket transport with simple-websocket (in gevent mode, without
gevent-websocket, and in threading mode) but makes it without `max_message_size`: one text frame
announcing 200 MB was read whole, and only then compared with `max_http_buffer_size` (1,000,000,
which the handshake advertises as `maxPayload`); the worker grew by 190 MB (issue 17, fault 2).
A message is now refused (close 1009) from its frames' headers, once the lengths they announce
pass that limit, before any of their payload is read: wsproto lets an extension judge each frame's
header (`Extension.frame_inbound_header`), and MessageLimit is one no client offers, always on.
A compressed message announces its compressed length, so simple-websocket is also given the limit,
which it applies to the inflated message as it grows. Measured: the 200 MB frame is refused
having cost nothing past its header; a permessage-deflate message of 200 MB (194 KB on the
wire), +14 MB.

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
from dataclasses import replace
from functools import partial

import engineio
import gevent
import simple_websocket
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from engineio.async_drivers.gevent import WebSocketWSGI as GeventWebSocketWSGI
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Event
from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason, Opcode, RsvBits

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


class MessageLimit(Extension):
    """Refuses a message from its frames' headers once the lengths they announce pass `limit`:
    wsproto asks every extension of a connection to judge each frame's header before its payload.
    Its name is one no client offers, so the handshake never names it; it is on all the same."""

    name = "x-threadpulse-message-limit"
    _KEEP = RsvBits(False, False, False)  # it claims no reserved bit

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.announced = 0  # the message's length so far, as its frames' headers announce it

    def enabled(self) -> bool:
        return True

    def offer(self) -> bool:
        return False

    def frame_inbound_header(self, proto: object, opcode: Opcode, rsv: RsvBits, payload_length: int):
        if opcode.iscontrol():
            return self._KEEP
        fragment = opcode is Opcode.CONTINUATION
        self.announced = payload_length + (self.announced if fragment else 0)
        return CloseReason.MESSAGE_TOO_BIG if self.announced > self.limit else self._KEEP


class _LimitedConnection(WSConnection):
    """wsproto's server side, which accepts a connection with MessageLimit among its extensions."""

    def __init__(self, limit: int) -> None:
        super().__init__(ConnectionType.SERVER)
        self.limit = limit

    def send(self, event: Event) -> bytes:
        if isinstance(event, AcceptConnection):
            event = replace(event, extensions=[*event.extensions, MessageLimit(self.limit)])
        return super().send(event)


class LimitedServer(simple_websocket.Server):
    """simple-websocket's server whose wsproto connection refuses oversized messages by header."""

    def handshake(self) -> None:
        self.ws = _LimitedConnection(self.max_message_size)
        super().handshake()


class _Capped:
    """simple-websocket given Engine.IO's own message limit, by header and as it inflates; counts
    the messages refused by it."""

    ws: LimitedServer
    app: Callable
    server_args: dict

    def __init__(self, handler: Callable, server: engineio.Server, dropped: Dropped) -> None:
        super().__init__(handler, server)
        self.server_args["max_message_size"] = server.max_http_buffer_size
        self.dropped = dropped

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        # engineio's SimpleWebSocketWSGI.__call__, with LimitedServer for simple_websocket.Server.
        self.ws = LimitedServer(environ, **self.server_args)
        try:
            served = self.app(self)
        finally:
            if self._refused():
                self.dropped(OVERSIZE)
        if self.ws.mode == "gunicorn":
            raise StopIteration()
        if self.ws.mode == "werkzeug":
            raise ConnectionError()
        return served

    def _refused(self) -> bool:
        """Whether the connection ended over a message too big: by header (close 1009 from
        wsproto) or inflated past the limit (simple-websocket leaves the message's length)."""
        ws = self.ws
        return ws.close_reason == CloseReason.MESSAGE_TOO_BIG or ws.incoming_message_len > ws.max_message_size


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
