"""Sustained load's schedules: N connections for T seconds, closed loop or at a fixed rate, with a
ramp (loadspec/plan.py says what each means), sent through the one client (connection.py).

With a recorder every request is tagged and reported `sent` and `reply`, as bursts' are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from dashboard.loadgen.connection import Address, Connection, Ticket, connect
from dashboard.loadgen.tally import Tally
from dashboard.loadspec.http_request import tag_line
from dashboard.loadspec.limits import REQUEST_TIMEOUT_S
from dashboard.loadspec.plan import LATE_S, Plan
from threadpulse_agent.protocol import make_tag, reply_event, sent_event
from threadpulse_agent.recorder import Recorder

RETRY_S = 0.01


class Load:
    """One run of sustained load: its connections, its requests' numbering and their reports."""

    def __init__(
        self, url: str, plan: Plan, run: str | None, recorder: Recorder | None, start_ns: int | None
    ) -> None:
        self.address = Address.of(url)
        self.plan, self.run, self.recorder = plan, run, recorder
        self.head, self.tail = plan.request.wire(self.address.authority, keep_alive=True)
        self.head_only = plan.request.method == "HEAD"
        self.tally = Tally()
        self.connections: set[Connection] = set()
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

    def send(self, connection: Connection, index: int | None = None) -> None:
        index, sent_ns, data = self.request(index)
        connection.send(data, (index, sent_ns))

    def replied(self, ticket: Ticket, status: int) -> None:
        (index, sent_ns), done = ticket, time.monotonic_ns()
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
        self.replied((index, sent_ns), 0)

    async def connect(self, free: Callable[[Connection], None]) -> Connection:
        return await connect(self.address, self.head_only, self.replied, free, self.connections)

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

        def again(connection: Connection) -> None:
            if self.sending():
                self.send(connection)
            else:
                connection.close()

        while self.sending():
            connection = None
            try:
                async with asyncio.timeout(self.deadline - self.loop.time() + REQUEST_TIMEOUT_S):
                    connection = await self.connect(again)
                    self.send(connection)
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
        idle: list[Connection] = []
        opening = 0

        def free(connection: Connection) -> None:
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
            self.send(connection, k)

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
                self.send(idle.pop(), k)
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
