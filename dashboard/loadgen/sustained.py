"""`python -m dashboard.loadgen.sustained`: N keep-alive connections, each sending one request after
another for D seconds; prints the figures as one JSON line.

Bursts (burst.py) open a connection per request to show queueing; this mode measures how much a
server can take, so it must not be the bottleneck itself: raw asyncio streams, one request
written per connection at a time, no HTTP library. With `--collector` it also reports `sent` and
`reply` events and tags every request, as bursts do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from urllib.parse import urlsplit

from dashboard.loadgen.limits import REQUEST_TIMEOUT_S
from dashboard.loadgen.reporting import reporting_to
from dashboard.model.stats import nearest_rank
from workload.agent.protocol import TAG_HEADER, make_tag, reply_event, run_end_event, sent_event
from workload.agent.recorder import Recorder

MAX_CONNECTIONS = 1_000
MAX_SECONDS = 3_600
RETRY_S = 0.01


class Tally:
    """What the connections did, in one place (one event loop, so no locks)."""

    def __init__(self) -> None:
        self.latencies_ns: list[int] = []
        self.errors = 0
        self.sent = 0


class _KeepAlive(asyncio.Protocol):
    """One keep-alive connection sending the next request as soon as a whole reply is in.

    A Protocol, not streams: the generator's own cost per request must stay far below the
    server's, or it becomes what the benchmark measures.
    """

    def __init__(self, request: Callable[[], bytes], on_reply: Callable[[int], bool]) -> None:
        self._request = request
        self._on_reply = on_reply  # status -> whether to send another
        self._buffer = b""
        self._need = -1  # bytes of the current reply still to come; -1 while reading its head
        self._status = 0
        self._close = False
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self._request())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            if self._need < 0:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                try:
                    self._status, length, self._close = _head(self._buffer[:end])
                except ValueError:
                    self._buffer, self._need = b"", -1  # counted here, not again when it closes
                    self._finish(0, close=True)
                    return
                self._buffer, self._need = self._buffer[end + 4 :], length
            if len(self._buffer) < self._need:
                return
            self._buffer, self._need = self._buffer[self._need :], -1
            self._finish(self._status, self._close)
            if self.transport is None or self.transport.is_closing():
                return

    def _finish(self, status: int, close: bool) -> None:
        again = self._on_reply(status)
        if close or not again:
            self.transport.close()
        else:
            self.transport.write(self._request())

    def connection_lost(self, exc: Exception | None) -> None:
        if self._need >= 0 or self._buffer:
            self._on_reply(0)  # a reply cut off
        if not self.closed.done():
            self.closed.set_result(None)


def _head(head: bytes) -> tuple[int, int, bool]:
    """(status, content length, whether the server will close) of a reply's head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(None, 2)[1])
    length, close = 0, lines[0].startswith(b"HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding":
            raise ValueError("chunked replies are not supported")
    return status, length, close


async def _connection(
    host: str, port: int, path: str, deadline: float, tally: Tally, run: str | None, recorder: Recorder | None
) -> None:
    """Requests one after another on keep-alive connections (a new one when the server closes)."""
    head = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    loop = asyncio.get_running_loop()
    sent = [0, 0]  # index, send time of the request in flight

    def request() -> bytes:
        index, now = tally.sent, time.monotonic_ns()
        tally.sent += 1
        sent[0], sent[1] = index, now
        if recorder is None:
            return f"{head}\r\n".encode()
        recorder.add(sent_event(run, index, now))
        return f"{head}{TAG_HEADER}: {make_tag(run, index, now)}\r\n\r\n".encode()

    def on_reply(status: int) -> bool:
        done = time.monotonic_ns()
        if 200 <= status < 400:
            tally.latencies_ns.append(done - sent[1])
        else:
            tally.errors += 1
        if recorder is not None:
            recorder.add(reply_event(run, sent[0], done, status))
        return time.monotonic() < deadline

    while time.monotonic() < deadline:
        try:
            async with asyncio.timeout(max(0.001, deadline - time.monotonic() + REQUEST_TIMEOUT_S)):
                _, protocol = await loop.create_connection(lambda: _KeepAlive(request, on_reply), host, port)
                await protocol.closed
        except (OSError, TimeoutError):
            tally.errors += 1
            await asyncio.sleep(RETRY_S)  # a refused connection fails at once: do not spin


async def sustain(
    url: str, connections: int, seconds: float, run: str | None = None, recorder: Recorder | None = None
) -> dict:
    """Keep `connections` requests in flight for `seconds`; the figures as a dict."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    tally = Tally()
    started, cpu_started = time.monotonic(), time.process_time()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(host, port, path, deadline, tally, run, recorder) for _ in range(connections))
    )
    if recorder is not None:
        recorder.add(run_end_event(run, time.monotonic_ns(), ""))
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    ordered = sorted(tally.latencies_ns)

    def pct(p: float) -> float | None:
        return round(nearest_rank(ordered, p) / 1e6, 3) if ordered else None

    return {
        "requests": len(ordered),
        "errors": tally.errors,
        "seconds": round(elapsed, 3),
        "rps": round(len(ordered) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "cpu_share": round(cpu / elapsed, 3),  # of one core: near 1.0, the generator is the limit
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="full URL, e.g. http://127.0.0.1:8001/hello")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--collector", help="udp://HOST:PORT to report sent/reply events to (optional)")
    parser.add_argument("--run", default="sustained", help="the run id the events carry")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        parser.error(f"--connections must be from 1 to {MAX_CONNECTIONS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be above 0 and at most {MAX_SECONDS}")
    if urlsplit(args.url).scheme != "http":
        parser.error("--url must be an http:// URL")
    url, run = args.url, args.run[:60]
    with reporting_to(args.collector, parser) if args.collector else nullcontext() as recorder:
        result = asyncio.run(sustain(url, args.connections, args.seconds, run, recorder))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
