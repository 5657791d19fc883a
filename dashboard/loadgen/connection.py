"""The load generator's one HTTP/1.1 client: bursts and sustained load both send through it.

One connection carries one request at a time and finds where each reply ends (replies.py), so the
same connection serves a burst's single request (`Connection: close`, a connection per request to
show queueing) and sustained load's keep-alive stream. Raw asyncio protocols, no HTTP library: the
generator's cost per request must stay far below the server's (docs/benchmarks.md, the generator's
ceiling). Whoever sends takes the times, on the monotonic clock, and reports them.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import select
import socket
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
        self.unsent = b""  # what connect() could not send before the transport was made
        self.closed = asyncio.get_running_loop().create_future()

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open_now.add(self)
        if self.unsent:
            self.transport.write(self.unsent)  # type: ignore[union-attr]
            self.unsent = b""

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
    first: tuple[bytes, Ticket] | None = None,
) -> Connection:
    """A new connection to `address` (OSError when refused), with `first` (a request's bytes and
    ticket) sent on it as soon as the handshake is done.

    For an IP address the socket is made here and the request written the moment it connects:
    on loopback the kernel completes the handshake inside connect(), so the bytes leave at once,
    where asyncio's own connect waits a turn of the loop for the socket to report writable and
    two more for the transport: a burst of ten took ~3 ms to send its first request that way,
    ~0.15 ms this way. A host name goes through asyncio, which resolves it and tries each address.
    """
    loop = asyncio.get_running_loop()

    def made() -> Connection:
        return Connection(head_only, replied, free, open_now)

    sock = _dial(address)
    if sock is None:
        _, connection = await loop.create_connection(made, address.host, address.port)
        if first is not None:
            connection.send(*first)
        return connection
    try:
        await _handshake(sock)
        written = _write_now(sock, first[0]) if first is not None else 0
    except BaseException:
        sock.close()
        raise
    connection = made()
    if first is not None:
        connection.in_flight, connection.unsent = first[1], first[0][written:]
    await loop.create_connection(lambda: connection, sock=sock)
    return connection


def _dial(address: Address) -> socket.socket | None:
    """A non-blocking socket whose connect to `address` has begun; None for a host name."""
    try:
        version = ipaddress.ip_address(address.host).version
    except ValueError:
        return None
    sock = socket.socket(socket.AF_INET6 if version == 6 else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    error = sock.connect_ex((address.host, address.port))
    if error not in (0, errno.EINPROGRESS):
        sock.close()
        raise OSError(error, f"Connect call failed {address.authority}: {os.strerror(error)}")
    return sock


async def _handshake(sock: socket.socket) -> None:
    """Wait until `sock`'s connect is done (no wait on loopback); OSError when it failed."""
    ready = select.poll()  # not select(): a busy generator's descriptors pass FD_SETSIZE
    ready.register(sock, select.POLLOUT)
    if not ready.poll(0):
        loop = asyncio.get_running_loop()
        writable = loop.create_future()
        loop.add_writer(sock, lambda: writable.done() or writable.set_result(None))
        try:
            await writable
        finally:
            loop.remove_writer(sock)
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        raise OSError(error, f"Connect call failed: {os.strerror(error)}")


def _write_now(sock: socket.socket, data: bytes) -> int:
    """As many of `data`'s bytes as the socket takes now (the transport writes the rest)."""
    try:
        return sock.send(data)
    except (BlockingIOError, InterruptedError):
        return 0
