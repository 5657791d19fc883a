"""Base URLs of servers on this host: the one place that knows an any-address (`0.0.0.0`, `::`)
is reached on loopback, that IPv6 is bracketed, and that `localhost` and `127.0.0.1` are one."""

from __future__ import annotations

from urllib.parse import urlsplit

ANY_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""}


def base_url(host: str, port: int | str) -> str:
    """`http://HOST:PORT` of a server listening on `host` (bracketed or not)."""
    host = host.strip("[]")
    host = ANY_TO_LOOPBACK.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
