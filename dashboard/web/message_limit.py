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
from wsproto.extensions import Extension, PerMessageDeflate
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
    """wsproto's server side, which accepts a connection with MessageLimit among its extensions,
    and permessage-deflate (simple-websocket's, when the client offers it, as browsers do) with
    `server_no_context_takeover`: each message compressed on its own, so that the same message
    is the same bytes on every connection that compresses alike (shared_frame.py builds it once)."""

    def __init__(self, limit: int) -> None:
        super().__init__(ConnectionType.SERVER)
        self.limit = limit
        self.frame_kind: tuple | None = None  # connections of one kind frame a message alike; None:
        # not known yet, or an extension that keeps state between messages

    def send(self, event: Event) -> bytes:
        if not isinstance(event, AcceptConnection):
            return super().send(event)
        others = [
            PerMessageDeflate(server_no_context_takeover=True) if isinstance(ext, PerMessageDeflate) else ext
            for ext in event.extensions
        ]
        accept = super().send(replace(event, extensions=[*others, MessageLimit(self.limit)]))
        self.frame_kind = _frame_kind([ext for ext in others if ext.enabled()])
        return accept


def _frame_kind(enabled: list[Extension]) -> tuple | None:
    """What decides a message's bytes on a connection with these extensions on, or None when
    they depend on the connection's history."""
    if not enabled:
        return ("plain",)
    if (
        len(enabled) == 1
        and isinstance(enabled[0], PerMessageDeflate)
        and enabled[0].server_no_context_takeover
    ):
        return ("deflate", enabled[0].server_max_window_bits)
    return None


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
