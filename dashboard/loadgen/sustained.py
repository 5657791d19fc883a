"""Sustained load: N keep-alive connections for T seconds, closed loop or at a fixed rate, with a
ramp (loadspec/plan.py says what each means). The page starts it through the generator (`Sustain`); the
benchmarks run it alone: `python -m dashboard.loadgen.sustained --url URL` prints the figures as
one JSON line.

Bursts (burst.py) open a connection per request to show queueing; this mode measures how much a
server can take, so it must not be the bottleneck itself: raw asyncio protocols, one request
written per connection at a time, no HTTP library. With a recorder it also reports `sent` and
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

from dashboard.loadgen.replies import Replies
from dashboard.loadgen.reporting import reporting_to
from dashboard.loadspec.http_request import HttpRequest, tag_line
from dashboard.loadspec.limits import REQUEST_TIMEOUT_S
from dashboard.loadspec.plan import LATE_S, Plan
from dashboard.model.stats import nearest_rank
from threadpulse_agent.protocol import make_tag, reply_event, run_end_event, sent_event
from threadpulse_agent.recorder import Recorder

MAX_CONNECTIONS = 1_000  # the command line's caps (the benchmarks); the page's are in loadspec/plan.py
MAX_SECONDS = 3_600
RETRY_S = 0.01


class Tally:
    """What the connections did, in one place (one event loop, so no locks)."""

    def __init__(self) -> None:
        self.latencies_ns: list[int] = []
        self.errors = 0  # failed replies and connections that could not be made
        self.sent = 0
        self.missed = 0  # rate: due while every connection was busy, so not sent
        self.late = 0  # rate: sent more than LATE_S after it was due


class Load:
    """One run of sustained load: its connections, its requests' numbering and their reports."""

    def __init__(
        self, url: str, plan: Plan, run: str | None, recorder: Recorder | None, start_ns: int | None
    ) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.plan, self.run, self.recorder = plan, run, recorder
        self.head, self.tail = plan.request.wire(self.host, self.port, keep_alive=True)
        self.tally = Tally()
        self.connections: set[_Connection] = set()
        self.openers: set[asyncio.Task] = set()  # rate: connections being opened for a due request
        self.loop = asyncio.get_running_loop()
        # The schedule's origin, on the host's monotonic clock (loop.time() reads it too), so the
        # dashboard knows when each request of a fixed rate was due.
        self.started = self.loop.time() if start_ns is None else start_ns / 1e9
        self.deadline = self.started + plan.seconds

    def sending(self) -> bool:
        return self.loop.time() < self.deadline

    def request(self, index: int | None = None) -> tuple[int, int, bytes]:
        """The next request: its index (by default the count sent so far; a fixed rate numbers its
        requests by their slot in the schedule), send time and bytes (reported as sent)."""
        index, now = self.tally.sent if index is None else index, time.monotonic_ns()
        self.tally.sent += 1
        if self.recorder is None:
            return index, now, self.head + self.tail
        self.recorder.add(sent_event(self.run, index, now))
        return index, now, self.head + tag_line(make_tag(self.run, index, now)) + self.tail

    def replied(self, index: int, sent_ns: int, status: int) -> None:
        done = time.monotonic_ns()
        if 200 <= status < 400:
            self.tally.latencies_ns.append(done - sent_ns)
        else:
            self.tally.errors += 1
        if self.recorder is not None:
            self.recorder.add(reply_event(self.run, index, done, status))

    def refused(self, index: int | None = None) -> None:
        """A connection could not be made: the request it was for is reported sent and failed, so
        the page shows a server that refuses as failures, not as silence."""
        index, sent_ns, _ = self.request(index)
        self.replied(index, sent_ns, 0)

    async def connect(self, on_free: Callable[[_Connection], None]) -> _Connection:
        _, connection = await self.loop.create_connection(
            lambda: _Connection(self, on_free), self.host, self.port
        )
        return connection

    def cut(self) -> None:
        """End every connection now; a request in flight ends without a reply."""
        for task in self.openers:
            task.cancel()
        for connection in list(self.connections):
            connection.abort()

    async def closed_loop(self, number: int) -> None:
        """Connection `number`: from its turn in the ramp, a request at a time until the deadline
        (a new connection when the server closes one)."""
        await asyncio.sleep(max(0.0, self.started + self.plan.start_s(number) - self.loop.time()))

        def again(connection: _Connection) -> None:
            if self.sending():
                connection.send()
            else:
                connection.close()

        while self.sending():
            connection = None
            try:
                async with asyncio.timeout(self.deadline - self.loop.time() + REQUEST_TIMEOUT_S):
                    connection = await self.connect(again)
                    connection.send()
                    await connection.closed
            except (OSError, TimeoutError):
                if connection is None:
                    self.refused()
                await asyncio.sleep(RETRY_S)  # a refused connection fails at once: do not spin
            finally:
                if connection is not None:
                    connection.abort()

    async def fixed_rate(self) -> None:
        """Send request k when it is due (plan.due_s) on an idle connection, opening one if fewer than
        `connections` are open; with none to send on, count it missed. Never waits for the server."""
        idle: list[_Connection] = []
        opening = 0

        def free(connection: _Connection) -> None:
            if connection.alive:
                idle.append(connection)

        async def open_and_send(k: int) -> None:
            nonlocal opening
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    connection = await self.connect(free)
            except (OSError, TimeoutError):
                self.refused(k)
                return
            finally:
                opening -= 1
            connection.send(k)

        openers = self.openers
        k = 0
        while (due := self.plan.due_s(k)) <= self.plan.seconds:
            wait = self.started + due - self.loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            late = self.loop.time() - (self.started + due) > LATE_S
            while idle and not idle[-1].alive:
                idle.pop()
            if idle:
                idle.pop().send(k)
            elif len(self.connections) + opening < self.plan.connections:
                opening += 1
                task = asyncio.create_task(open_and_send(k))
                openers.add(task)
                task.add_done_callback(openers.discard)
            else:
                self.tally.missed += 1
                late = False
            self.tally.late += late
            k += 1
        if openers:
            await asyncio.wait(openers)
        give_up = self.loop.time() + REQUEST_TIMEOUT_S
        while any(c.in_flight is not None for c in self.connections) and self.loop.time() < give_up:
            await asyncio.sleep(RETRY_S)
        self.cut()


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight; `on_free` is called after
    each reply, to send the next or let the connection idle."""

    def __init__(self, load: Load, on_free: Callable[[_Connection], None]) -> None:
        self.load = load
        self.on_free = on_free
        self.replies = Replies(head_only=load.plan.request.method == "HEAD")
        self.transport: asyncio.Transport | None = None
        self.in_flight: tuple[int, int] | None = None  # index, send time
        self.closed = load.loop.create_future()

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.load.connections.add(self)

    def send(self, index: int | None = None) -> None:
        index, sent_ns, data = self.load.request(index)
        self.in_flight = index, sent_ns
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        try:
            whole = self.replies.feed(data)
        except ValueError:
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
            self.on_free(self)

    def _end(self, status: int) -> None:
        (index, sent_ns), self.in_flight = self.in_flight, None
        self.load.replied(index, sent_ns, status)

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
        self.load.connections.discard(self)
        if self.in_flight is not None:
            self._end(self.replies.eof() or 0)  # a body that ran until the close, or cut off
        if not self.closed.done():
            self.closed.set_result(None)


async def sustain(
    url: str,
    plan: Plan,
    run: str | None = None,
    recorder: Recorder | None = None,
    why_cut: Callable[[], str] = str,
    start_ns: int | None = None,
) -> dict:
    """Carry out `plan` against the server at `url` from `start_ns` (default: now); the figures as a
    dict. Cancelled, it ends every connection and reports the run's end with `why_cut()`."""
    load = Load(url, plan, run, recorder, start_ns)
    cpu_started = time.process_time()
    reason = ""
    try:
        if plan.mode == "rate":
            await load.fixed_rate()
        else:
            await asyncio.gather(*(load.closed_loop(i) for i in range(plan.connections)))
    except asyncio.CancelledError:
        reason = why_cut() or "cut short"
        load.cut()
    if recorder is not None:
        recorder.add(run_end_event(run, time.monotonic_ns(), reason))
    elapsed = load.loop.time() - load.started
    cpu = time.process_time() - cpu_started
    ordered = sorted(load.tally.latencies_ns)

    def pct(p: float) -> float | None:
        return round(nearest_rank(ordered, p) / 1e6, 3) if ordered else None

    return {
        "requests": len(ordered),
        "errors": load.tally.errors,
        "sent": load.tally.sent,
        "missed": load.tally.missed,
        "late": load.tally.late,
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
    parts = urlsplit(args.url)
    if parts.scheme != "http":
        parser.error("--url must be an http:// URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    plan = Plan(HttpRequest("GET", path), args.connections, args.seconds)
    with reporting_to(args.collector, parser) if args.collector else nullcontext() as recorder:
        result = asyncio.run(sustain(args.url, plan, args.run[:60], recorder))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
