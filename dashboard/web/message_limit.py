"""A viewer's WebSocket message over the advertised limit is refused from its frames' headers.

python-engineio makes simple-websocket's server without `max_message_size`: one text frame
announcing 200 MB was read whole, and only then compared with `max_http_buffer_size` (1,000,000,
which the handshake advertises as `maxPayload`); the worker grew by 190 MB (issue 17, fault 2).
wsproto asks each extension of a connection to judge every frame's header before its payload
(`Extension.frame_inbound_header`): MessageLimit is one no client offers and that is always on, so
a message whose frames announce more than the limit is closed with 1009 having cost its header.
A compressed message announces its compressed length: simple-websocket is also given the limit,
which it applies to the inflated message as it grows. Measured: the 200 MB frame costs the worker
1.4 MB; a permessage-deflate message of 200 MB (194 KB on the wire), 14 MB.
"""

from __future__ import annotations

from dataclasses import replace

import simple_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Event
from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason, Opcode, RsvBits

NO_BITS = RsvBits(False, False, False)  # MessageLimit claims no reserved bit of a frame


class MessageLimit(Extension):
    """Refuses a message once the lengths its frames' headers announce pass `limit`."""

    name = "x-threadpulse-message-limit"  # no client offers it, so the handshake never names it

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.announced = 0  # the message's length so far, as its frames' headers announce it

    def enabled(self) -> bool:
        return True

    def offer(self) -> bool:
        return False

    def frame_inbound_header(
        self, proto: object, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        if opcode.iscontrol():
            return NO_BITS
        fragment = opcode is Opcode.CONTINUATION
        self.announced = payload_length + (self.announced if fragment else 0)
        return CloseReason.MESSAGE_TOO_BIG if self.announced > self.limit else NO_BITS


class _LimitedConnection(WSConnection):
    """wsproto's server side, which accepts a connection with MessageLimit among its extensions."""

    def __init__(self, limit: int) -> None:
        super().__init__(ConnectionType.SERVER)
        self.limit = limit
        self.rewrites = True  # whether an extension rewrites outgoing messages: unknown until accepted

    def send(self, event: Event) -> bytes:
        if not isinstance(event, AcceptConnection):
            return super().send(event)
        others = event.extensions  # simple-websocket's permessage-deflate, if the client asked for it
        accept = super().send(replace(event, extensions=[*others, MessageLimit(self.limit)]))
        self.rewrites = any(ext.enabled() for ext in others)
        return accept


class LimitedServer(simple_websocket.Server):
    """simple-websocket's server (given `max_message_size`) whose connection refuses by header."""

    def handshake(self) -> None:
        self.ws = _LimitedConnection(self.max_message_size)
        super().handshake()

    def refused(self) -> bool:
        """Whether the connection ended over a message too big: by header (close 1009 from
        wsproto) or inflated past the limit (simple-websocket leaves the message's length)."""
        return (
            self.close_reason == CloseReason.MESSAGE_TOO_BIG
            or self.incoming_message_len > self.max_message_size
        )
