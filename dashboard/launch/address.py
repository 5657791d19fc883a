"""Where a launched server listens, found from its processes' listening sockets (psutil).

A server may hold several: uWSGI's `--http :8000` also binds an internal uwsgi-protocol socket on
a random port. The one the user named on the command line wins; a lone one needs no naming. A
server on several ports the user named (`-b :8001 -b :8002`) is not guessed at: run.py asks for
--target.
"""

from __future__ import annotations

import psutil

from dashboard.addresses import base_url


def listening(pids: list[int]) -> list[tuple[str, int]]:
    """(ip, port) of every TCP socket the processes listen on, lowest port first."""
    found = set()
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        found.update(tuple(c.laddr)[:2] for c in connections if c.status == psutil.CONN_LISTEN)
    return sorted(found, key=lambda address: (address[1], address[0]))


def pick(addresses: list[tuple[str, int]], argv: list[str]) -> str | None:
    """The base URL of the server's HTTP address, or None while it is not clear."""
    named = [a for a in addresses if any(str(a[1]) in token for token in argv)]
    for candidates in (named, addresses):
        if len({port for _, port in candidates}) == 1:  # one port, perhaps on 0.0.0.0 and :: both
            return base_url(*candidates[0])
    return None
