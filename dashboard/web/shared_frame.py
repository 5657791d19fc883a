"""A broadcast's WebSocket frame built once and written to every viewer as the same bytes.

python-socketio encodes a broadcast once, and python-engineio hands each viewer's writer the same
string (its packet's encode cache); simple-websocket then had wsproto frame it and utf-8 encode it
again for every viewer, an eighth of a viewer-only process's CPU under a room of 500 (py-spy). A
server's frames are not masked, so on every connection whose extensions leave messages as they are
(not permessage-deflate, which compresses with each connection's own context) a message is the same
bytes: wsproto builds them on the first such connection, and the others write them while the same
string keeps coming.
"""

from __future__ import annotations

from wsproto.connection import ConnectionState
from wsproto.events import TextMessage

from dashboard.web.message_limit import LimitedServer


class SharedFrameServer(LimitedServer):
    """simple-websocket's server (with the message limit) that reuses the last text frame built."""

    _last: tuple[str, bytes] | None = None  # (the string, its frame), shared by every connection

    def send(self, data: bytes | str) -> None:
        plain = isinstance(data, str) and self.connected and not self.ws.rewrites
        if not plain or self.ws.state is not ConnectionState.OPEN:
            super().send(data)  # bytes, a compressed connection, or one closing: as simple-websocket does
            return
        last = SharedFrameServer._last  # one read: another thread may replace it (gthread worker)
        if last is not None and last[0] is data:
            frame = last[1]
        else:
            frame = self.ws.send(TextMessage(data=data))
            SharedFrameServer._last = (data, frame)
        self.sock.send(frame)
