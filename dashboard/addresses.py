"""Addresses of servers on this host: the one place that knows an any-address (`0.0.0.0`, `::`)
is reached on loopback, that IPv6 is bracketed and bound with its own socket family, and that
`localhost` and `127.0.0.1` are one, and which names only this machine reaches."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

ANY_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""}


def host_port(host: str, port: int | str) -> str:
    """`HOST:PORT` as a URL or a bind address writes it: an IPv6 host in brackets."""
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def family(host: str) -> socket.AddressFamily:
    """The socket family that binds or reaches `host` as written (an IPv6 address has colons)."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def base_url(host: str, port: int | str) -> str:
    """`http://HOST:PORT` of a server listening on `host` (bracketed or not)."""
    host = host.strip("[]")
    return f"http://{host_port(ANY_TO_LOOPBACK.get(host, host), port)}"


def same_address(a: str, b: str) -> bool:
    """Whether two base URLs reach one server: the same port, and the same host or both loopback
    (`--target http://localhost:8000` and a gunicorn bound to 0.0.0.0:8000)."""
    left, right = urlsplit(a), urlsplit(b)
    try:
        same_port = left.port == right.port
    except ValueError:  # a port out of range
        return False
    hosts = (left.hostname or "", right.hostname or "")
    return same_port and (hosts[0] == hosts[1] or all(host in LOOPBACK_NAMES for host in hosts))


def is_loopback(host: str) -> bool:
    """True for names only this machine can reach: 127.0.0.0/8, ::1 and localhost."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
