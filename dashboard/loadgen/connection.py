"""The load generator's one HTTP/1.1 client: bursts and sustained load both send through it.

One connection carries one request at a time and finds where each reply ends (replies.py), so the
same connection serves a burst's single request (`Connection: close`, a connection per request to
show queueing) and sustained load's keep-alive stream. Raw asyncio protocols, no HTTP library: the
generator's cost per request must stay far below the server's (docs/benchmarks.md, the generator's
ceiling). Whoever sends takes the times, on the monotonic clock, and reports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit

from dashboard.loadgen.replies import Replies

Ticket = tuple[int, int]  # a request in flight: its index and send time (ns)


class Address(NamedTuple):
    """Where requests go: the host and port to connect to, and the Host header's value."""

    host: str
    port: int
    authority: str  # as the URL writes it: an IPv6 host bracketed ("[::1]:8000")

    @classmethod
    def of(cls, url: str) -> Address:
        """The target of a base URL (http://HOST[:PORT]; port 80 when none is written)."""
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, parts.netloc or "127.0.0.1")


class Connection(asyncio.Protocol):
    """At most one request in flight. `replied(ticket, status)` ends each request exactly once:
    with the reply's status, or 0 when the connection is cut or the reply malformed. `free` is
    called after a reply on a connection the server keeps open, to send the next or let it idle."""

    def __init__(
        self,
        head_only: bool,
        replied: Callable[[Ticket, int], None],
        free: Callable[[Connection], None],
        open_now: set[Connection],
    ) -> None:
        self.replies = Replies(head_only)
        self.replied = replied
        self.free = free
        self.open_now = open_now  # the caller's set of connections open: this one while it is
        self.transport: asyncio.Transport | None = None
        self.in_flight: Ticket | None = None
        self.closed = asyncio.get_running_loop().create_future()

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open_now.add(self)

    def send(self, data: bytes, ticket: Ticket) -> None:
        self.in_flight = ticket
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        try:
            whole = self.replies.feed(data)
        except ValueError:  # a malformed reply, or a head beyond replies.MAX_HEAD
            self.abort()
            return
        for status, close in whole:
            if self.in_flight is None:  # a reply nobody asked for: the connection is out of step
                self.abort()
                return
            self._end(status)
            if close:
                self.close()
                return
            self.free(self)

    def _end(self, status: int) -> None:
        ticket, self.in_flight = self.in_flight, None
        self.replied(ticket, status)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close at once; a request in flight ends now, as failed (status 0)."""
        if self.in_flight is not None:
            self._end(0)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open_now.discard(self)
        if self.in_flight is not None:
            self._end(self.replies.eof() or 0)  # a body that ran until the close, or cut off
        if not self.closed.done():
            self.closed.set_result(None)


async def connect(
    address: Address,
    head_only: bool,
    replied: Callable[[Ticket, int], None],
    free: Callable[[Connection], None],
    open_now: set[Connection],
) -> Connection:
    """A new connection to `address` (OSError when refused)."""
    loop = asyncio.get_running_loop()
    _, connection = await loop.create_connection(
        lambda: Connection(head_only, replied, free, open_now), address.host, address.port
    )
    return connection
