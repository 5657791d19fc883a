"""Viewers' WebSockets, bounded both ways: what a viewer sends (message_limit.py) and what it
leaves unread (draining_socket.py), on either dashboard worker; each drop counted by reason.

python-engineio serves its WebSocket transport with simple-websocket (in gevent mode, without
gevent-websocket, and in threading mode); engineio picks the transport's class from a table, and
this server's copy of that table is given the classes below. A session Engine.IO ends (a missed
ping) now ends its connection too: it was left open for as long as the client liked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import engineio
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from engineio.async_drivers.gevent import WebSocketWSGI as GeventWebSocketWSGI

from dashboard.web.draining_socket import DrainingSocket, GreenDrainingSocket, ThreadDrainingSocket
from dashboard.web.shared_frame import SharedFrameServer

# A write that moves no byte for this long ends the viewer (draining_socket.py).
DRAIN_S = 5.0
NOT_DRAINING, PING_TIMEOUT, OVERSIZE = "not_draining", "ping_timeout", "oversize"
DROP_REASONS = (NOT_DRAINING, PING_TIMEOUT, OVERSIZE)

Dropped = Callable[[str], None]


def drop_counts(counted: dict[str, int]) -> dict[str, int]:
    """Every reason, those never counted at 0 (a monitor sees the series before the first drop)."""
    return {reason: counted.get(reason, 0) for reason in DROP_REASONS}


class _Bounded:
    """simple-websocket given Engine.IO's own message limit, on a connection that must drain."""

    ws: SharedFrameServer
    app: Callable
    server_args: dict
    draining: type[DrainingSocket]

    def __init__(self, handler: Callable, server: engineio.Server, dropped: Dropped) -> None:
        super().__init__(handler, server)
        self.server_args["max_message_size"] = server.max_http_buffer_size
        self.dropped = dropped

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        sock = environ["gunicorn.socket"]  # the dashboard is always served by gunicorn (serve.py)
        environ["gunicorn.socket"] = self.draining(sock, DRAIN_S, partial(self.dropped, NOT_DRAINING))
        # engineio's SimpleWebSocketWSGI.__call__, with SharedFrameServer for simple_websocket.Server.
        self.ws = SharedFrameServer(environ, **self.server_args)
        try:
            served = self.app(self)
        finally:
            if self.ws.refused():
                self.dropped(OVERSIZE)
        if self.ws.mode == "gunicorn":
            raise StopIteration()
        if self.ws.mode == "werkzeug":
            raise ConnectionError()
        return served

    def close(self) -> None:
        """Engine.IO's writer ends the session (a missed ping, a server disconnect, the reader's
        end): after the close frame the connection ends too, not when the client pleases."""
        super().close()
        self.ws.sock.end()


class ThreadedViewerSocket(_Bounded, SimpleWebSocketWSGI):
    """The gthread worker's: a viewer's writes on its own OS thread."""

    draining = ThreadDrainingSocket


class GreenViewerSocket(_Bounded, GeventWebSocketWSGI):
    """The green worker's: a viewer's writes on the hub."""

    draining = GreenDrainingSocket


def bound_websockets(eio: engineio.Server, dropped: Dropped) -> None:
    """Serve `eio`'s WebSocket transport with the classes above; `dropped(reason)` counts drops."""
    kind = GreenViewerSocket if eio.async_mode == "gevent" else ThreadedViewerSocket
    # engineio picks its transport class from this table; this server's copy only is changed.
    eio._async = {**eio._async, "websocket": partial(kind, dropped=dropped)}
