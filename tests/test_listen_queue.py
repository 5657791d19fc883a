"""The accept queue of a listening socket, asked of the kernel by sock_diag (listen_queue.py), on
real sockets of both IP families."""

from __future__ import annotations

import socket
from contextlib import ExitStack

from dashboard.collector.listen_queue import accept_backlog
from tests.support import wait_for


def listener(family: socket.AddressFamily, host: str, port: int = 0) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, port))
    sock.listen(16)
    return sock


def test_the_accept_backlog_counts_connections_no_worker_has_accepted():
    """The kernel's queue in front of the workers: connected, not yet accepted, on either IP."""
    with ExitStack() as stack:
        v4 = stack.enter_context(listener(socket.AF_INET, "127.0.0.1"))
        port = v4.getsockname()[1]
        v6 = stack.enter_context(listener(socket.AF_INET6, "::1", port))
        for host in ["127.0.0.1"] * 3 + ["::1"]:
            stack.enter_context(socket.create_connection((host, port)))
        wait_for(lambda: accept_backlog(port) == 4, what="4 queued connections")
        stack.enter_context(v4.accept()[0])
        wait_for(lambda: accept_backlog(port) == 3, what="one accepted")
        stack.enter_context(v6.accept()[0])
        wait_for(lambda: accept_backlog(port) == 2, what="one more accepted")


def test_no_backlog_where_nothing_listens():
    """A server not listening yet (or gone) has no accept queue, which is not an empty one."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        assert accept_backlog(bound.getsockname()[1]) is None
        bound.listen()
        assert accept_backlog(bound.getsockname()[1]) == 0
