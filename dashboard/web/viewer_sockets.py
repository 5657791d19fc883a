"""Viewers' WebSockets: a message over Engine.IO's advertised limit is refused as it arrives.

python-engineio serves its WebSocket transport with simple-websocket (in gevent mode, without
gevent-websocket, and in threading mode) but makes it without `max_message_size`: one text frame
announcing 200 MB was read whole, and only then compared with `max_http_buffer_size` (1,000,000,
which the handshake advertises as `maxPayload`); the worker grew by 190 MB (issue 17, fault 2).
Given that limit, simple-websocket refuses the message (close 1009) once it passes it: wsproto
hands over a frame's payload as it arrives, so at most one read (4 KB) past the limit is held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import engineio
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from engineio.async_drivers.gevent import WebSocketWSGI as GeventWebSocketWSGI

OVERSIZE = "oversize"
DROP_REASONS = (OVERSIZE,)

Dropped = Callable[[str], None]


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
    """The green worker's: the message limit."""


def bound_websockets(eio: engineio.Server, dropped: Dropped) -> None:
    """Serve `eio`'s WebSocket transport with the classes above; `dropped(reason)` counts drops."""
    kind = GreenViewerSocket if eio.async_mode == "gevent" else ThreadedViewerSocket
    # engineio picks its transport class from this table; this server's copy only is changed.
    eio._async = {**eio._async, "websocket": partial(kind, dropped=dropped)}
