"""The agent's one OS thread that turns buffered events into datagrams, at most 20 times a second."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable

from workload.agent.protocol import Source, Task, encode_batches
from workload.agent.recorder import Recorder
from workload.agent.tasks import TaskRegistry, os_threading

FLUSH_INTERVAL_S = 0.05
ROSTER_INTERVAL_S = 1.0


def parse_collector(url: str) -> tuple[str, int]:
    """(host, port) from `udp://HOST:PORT`; ValueError with a readable message otherwise."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "udp" or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"collector address must look like udp://127.0.0.1:9999, not {url!r}")
    return host.strip("[]"), int(port)


class Reporter:
    """Flushes a Recorder (and the registry's roster) to the collector over UDP, never blocking."""

    def __init__(
        self,
        address: tuple[str, int],
        source: Source,
        recorder: Recorder,
        registry: TaskRegistry | None = None,
        pollers: list[Callable[[int], list[list]]] = (),
    ) -> None:
        self.address = address
        self.source = source
        self.recorder = recorder
        self.registry = registry
        self.pollers = list(pollers)
        self._seqs = itertools.count()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._stop = os_threading().Event()
        self._thread = os_threading().Thread(target=self._run, name="threadpulse-reporter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Flush what is buffered and end the thread (used by the load generator at exit)."""
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        next_roster, seen = 0.0, -1
        while True:
            stopping = self._stop.wait(FLUSH_INTERVAL_S)
            now = time.monotonic()
            tasks = None
            # The roster goes out every second, and at once when a new task appears.
            if self.registry is not None and (now >= next_roster or self.registry.generation != seen):
                seen = self.registry.generation
                tasks = self.registry.alive()
                next_roster = now + ROSTER_INTERVAL_S
            now_ns = time.monotonic_ns()
            for poll in self.pollers:
                for event in poll(now_ns):
                    self.recorder.add(event)
            self.flush(tasks)
            if stopping:
                return

    def flush(self, tasks: list[Task] | None = None) -> None:
        """Send every buffered event, plus the roster when given."""
        while True:
            events = self.recorder.drain()
            if not events and tasks is None:
                return
            batches = encode_batches(
                self.source, self._seqs, self.recorder.dropped, time.monotonic_ns(), events, tasks
            )
            for data in batches:
                try:
                    self._sock.sendto(data, self.address)
                except OSError:
                    # A full socket buffer or no route: the datagram is lost, and the gap in
                    # sequence numbers tells the collector so.
                    pass
            tasks = None


def local_source(mode: str, role: str) -> Source:
    """This process as a source of datagrams."""
    return Source(socket.gethostname()[:60], os.getpid(), mode[:60], role)
