"""How soon a click's first request reaches the collector: from the agent's `begin` (its clock at
the request's start) to the datagram's arrival, after a quiet spell, on a real gunicorn server.

The agent flushes on the leading edge: the first event after a quiet spell wakes the reporter,
which sends it at once instead of at the end of its 50 ms interval. This measures that path for a
request that returns at once (`/hello`) and one that holds the GIL (`/cpu`), whose thread the
reporter must win the GIL from. Both clocks are the host's one monotonic clock.
"""

from __future__ import annotations

import http.client
import socket
import time
from urllib.parse import urlsplit

from bench.common import HOST, median, parser, percentile, report, table, workload_server
from threadpulse_agent.protocol import Begin, ProtocolError, decode

PATHS = ("/hello", "/cpu?ms=50")
QUIET_S = 0.3  # longer than the reporter's interval: every click comes after a quiet spell


def first_arrival_ms(sock: socket.socket, url: str, path: str) -> float:
    """One click: a request after a quiet spell, and the ms from its `begin` to the arrival of the
    datagram carrying it."""
    parts = urlsplit(url)
    deadline = time.monotonic() + QUIET_S
    sock.settimeout(QUIET_S)
    while time.monotonic() < deadline:  # drain what the last click left, and let the agent idle
        try:
            sock.recv(65536)
        except TimeoutError:
            break
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path)
    sock.settimeout(5)
    try:
        while True:
            data = sock.recv(65536)
            arrived = time.monotonic_ns()
            try:
                datagram = decode(data)
            except ProtocolError:
                continue
            begins = [e for e in datagram.events if isinstance(e, Begin) and e.path == path.split("?")[0]]
            if begins:
                return (arrived - begins[0].t_ns) / 1e6
    finally:
        conn.getresponse().read()
        conn.close()


def measure(clicks: int) -> list[list[object]]:
    rows = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        with workload_server(1, 4, collector=f"udp://{HOST}:{sock.getsockname()[1]}") as server:
            for path in PATHS:
                first_arrival_ms(sock, server.url, path)  # warm: the thread, the roster, imports
                ms = [first_arrival_ms(sock, server.url, path) for _ in range(clicks)]
                rows.append([path, clicks, median(ms), percentile(ms, 95), max(ms)])
    return rows


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--clicks", type=int, default=40)
    args = p.parse_args(argv)
    clicks = 3 if args.quick else args.clicks
    rows = measure(clicks)
    columns = ["request", "clicks", "begin → datagram p50 ms", "p95 ms", "max ms"]
    body = (
        f"{table(columns, rows)}\n\n"
        f"gunicorn gthread 1 × 4 with the agent sending to a UDP socket this process reads; a click "
        f"is one request after {QUIET_S:g} s of quiet; the figure is the datagram's arrival (this "
        "process's monotonic clock) less the agent's `begin` time (the request's start, the same "
        "clock), each click alone."
    )
    report("first_flush", "A click's first datagram", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
