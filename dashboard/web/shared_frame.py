"""A broadcast's WebSocket frame built once and written to every viewer as the same bytes.

python-socketio encodes a broadcast once, and python-engineio hands each viewer's writer the same
string (its packet's encode cache); simple-websocket then had wsproto frame it and utf-8 encode it
again for every viewer, an eighth of a viewer-only process's CPU under a room of 500 (py-spy), and
compress it again for every browser. A server's frames are not masked, and the dashboard accepts
permessage-deflate with `server_no_context_takeover` (message_limit.py), so on every connection of
one kind (no extension, or deflate with the same window) a message is the same bytes: wsproto
builds them on the first such connection, and the others write them while the same string keeps
coming.
"""

from __future__ import annotations

from wsproto.connection import ConnectionState
from wsproto.events import TextMessage

from dashboard.web.message_limit import LimitedServer


class SharedFrameServer(LimitedServer):
    """simple-websocket's server (with the message limit) that reuses the last text frame built
    for connections of its kind."""

    _last: dict[tuple, tuple[str, bytes]] = {}  # kind -> (the string, its frame), for every connection

    def send(self, data: bytes | str) -> None:
        kind = self.ws.frame_kind
        if (
            not isinstance(data, str)
            or not self.connected
            or kind is None
            or self.ws.state is not ConnectionState.OPEN
        ):
            super().send(data)  # bytes, an extension with state, or closing: as simple-websocket does
            return
        last = SharedFrameServer._last.get(kind)  # one read: another thread may replace it (gthread)
        if last is not None and last[0] is data:
            frame = last[1]
        else:
            frame = self.ws.send(TextMessage(data=data))
            SharedFrameServer._last[kind] = (data, frame)
        self.sock.send(frame)
