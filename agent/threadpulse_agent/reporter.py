"""The agent's one OS thread that turns buffered events into datagrams, at most 20 times a second.

The first event after a quiet spell goes out at once (the recorder wakes the reporter when an
event lands in its empty buffer), before the roster and the pollers are read; the ones after it
wait for the end of the interval, so a flood of requests still costs 20 flushes a second. While
no request is in flight and nothing is buffered, the thread sleeps until the next roster is due
instead of waking 20 times a second.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace

from threadpulse_agent.interpreter import this_python
from threadpulse_agent.protocol import Server, Source, Task, encode_batches
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.signing import Sealer, key_from_env
from threadpulse_agent.tasks import TaskRegistry, os_threading

FLUSH_INTERVAL_S = 0.05
ROSTER_INTERVAL_S = 1.0
QUIET_INTERVALS = 4  # intervals with no event sent: the next event starts a click's requests


def parse_collector(url: str) -> tuple[str, int]:
    """(host, port) from `udp://HOST:PORT`; ValueError with a readable message otherwise."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "udp" or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"collector address must look like udp://127.0.0.1:9999, not {url!r}")
    return host.strip("[]"), int(port)


class Reporter:
    """Flushes a Recorder (and the registry's roster) to the collector over UDP, never blocking.

    `active` says whether the pollers need their tick every interval (a request is in flight:
    its stack, the worker's queue, a stalled hub); without it, they are polled whenever there
    are any. `flushes` counts the flushes that sent something. With a key (`key`, else
    THREADPULSE_KEY from the environment) every datagram is signed here, the one send path of
    every source (signing.py).
    """

    def __init__(
        self,
        address: tuple[str, int],
        source: Source,
        recorder: Recorder,
        registry: TaskRegistry | None = None,
        pollers: list[Callable[[int], list[list]]] = (),
        active: Callable[[], bool] | None = None,
        interval: float = FLUSH_INTERVAL_S,
        shape: Callable[[], Server | None] = lambda: None,
        key: bytes | None = None,
    ) -> None:
        self.address = address
        self.source = source
        self.recorder = recorder
        self.registry = registry
        self.pollers = list(pollers)
        self.active = active or (lambda: bool(self.pollers))
        self.interval = interval
        # the server's shape, sent with each roster (see agent/server.py), as is the interpreter
        self.shape = shape
        self.flushes = 0
        self._seqs = itertools.count()
        key = key or key_from_env()
        self._sealer = Sealer(key) if key else None
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        # Real OS-thread primitives, also under eventlet or gevent: the reporter waits on them
        # from its own OS thread; request code (a green thread, maybe) only sets them.
        self._stop = os_threading().Event()
        self._wake = os_threading().Event()
        recorder.notify = self._wake.set
        self._thread = os_threading().Thread(target=self._run, name="threadpulse-reporter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Flush what is buffered and end the thread (used by the load generator at exit)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        next_roster, seen = 0.0, -1
        sent = ticked = float("-inf")
        while True:
            stopping = self._wait(sent, ticked, next_roster)
            ticked = time.monotonic()
            if self._leading_edge(sent, ticked, seen) and self.flush():
                sent = ticked
            tasks = None
            roster_due = ticked >= next_roster
            if roster_due:
                next_roster = ticked + ROSTER_INTERVAL_S
            # The roster goes out every second, and at once when a new task appears.
            if self.registry is not None and (roster_due or self.registry.generation != seen):
                seen = self.registry.generation
                tasks = self.registry.alive()
            # Drained before the pollers read: building a WSGI request's events keeps the busy
            # tasks the stack sampler reads (middleware.py), so it samples the ones in a request now.
            events = self.recorder.drain()
            now_ns = time.monotonic_ns()
            for poll in self.pollers:
                try:
                    events += poll(now_ns)
                except Exception:
                    # A poller reads other threads' frames and the server's internals, which can
                    # change under it: its events this round are lost (and counted), never the
                    # reporter, whose end would silence the process for good.
                    self.recorder.lose()
            if self._send(events, tasks) and events:  # a roster alone holds no click back
                sent = ticked
            if stopping:
                self._sock.close()
                return

    def _leading_edge(self, sent: float, now: float, seen: int) -> bool:
        """Whether events wait after a quiet spell (QUIET_INTERVALS with none sent), none from a
        task the collector has not seen in a roster: they go out in a flush of their own before
        the roster and the pollers are read, whose reads (/proc, other threads' frames) would hold
        a click's first request back behind a request thread that holds the GIL (a switch
        interval, 5 ms, each time the reporter lets go of it). A server that keeps sending never
        has such a spell, so this adds no datagram to its flushes."""
        if now - sent < QUIET_INTERVALS * self.interval or not self.recorder.waiting():
            return False
        return self.registry is None or self.registry.generation == seen

    def _wait(self, sent: float, ticked: float, next_roster: float) -> bool:
        """Sleep until the next tick is due; True when the reporter is asked to stop.

        Events waiting go out one interval after the last flush that sent (at once after a
        quiet spell); with none, the next tick is the pollers' (an interval after the last
        one, while a request is in flight) or the roster's, unless an event comes first.
        """
        while True:
            now = time.monotonic()
            if self.recorder.waiting():
                due = sent + self.interval
                return self._stop.wait(due - now) if due > now else self._stop.is_set()
            due = ticked + self.interval if self.active() else next_roster
            if due <= now or self._stop.is_set():
                return self._stop.is_set()
            if sent + self.interval >= due:
                # An event now would wait for the interval after the last send anyway, and the
                # tick comes no later: sleep through (under load, half the wake-ups a second).
                return self._stop.wait(due - now)
            self._wake.clear()
            if not self.recorder.waiting():  # checked after the clear: no event slips past
                self._wake.wait(due - now)
            if self._stop.is_set():
                return True

    def flush(self, tasks: list[Task] | None = None) -> bool:
        """Send the events buffered now (what comes meanwhile waits for the next flush), plus the
        roster when given; True if anything was sent."""
        return self._send(self.recorder.drain(), tasks)

    def _send(self, events: list, tasks: list[Task] | None) -> bool:
        if not events and tasks is None:
            return False
        now_ns = time.monotonic_ns()
        if tasks is None:
            source = self.source
        else:
            source = replace(self.source, server=self.shape(), python=this_python())
        for data in encode_batches(source, self._seqs, self.recorder.dropped, now_ns, events, tasks):
            if self._sealer is not None:
                data = self._sealer.seal(data)
            try:
                self._sock.sendto(data, self.address)
            except OSError:
                # A full socket buffer or no route: the datagram is lost, and the gap in
                # sequence numbers tells the collector so.
                pass
        self.flushes += 1
        return True


def wire_host(name: str) -> str:
    """A host's name as its agents send it (`src.host`): at most 60 characters."""
    return name[:60]


def this_host() -> str:
    """This host's name as its agents send it."""
    return wire_host(socket.gethostname())


def local_source(mode: str, role: str) -> Source:
    """This process as a source of datagrams."""
    return Source(this_host(), os.getpid(), mode[:60], role)
