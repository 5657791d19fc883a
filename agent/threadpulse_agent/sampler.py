"""The /proc sampler of a host the dashboard is not on: polled by the runner's reporter every
100 ms (the dashboard's own cadence), it reads every process below the runner, found anew at each
look, and each of their threads, and says so in events (`process_cpu`, `thread_cpu`,
`process_gone`) that go out through the agent's one send path (reporter.py), signed like the rest.

The dashboard folds them as it folds its own /proc readings (docs/protocol.md); it cannot read
another host's /proc, and a pid there means nothing here. Standard library only, Python 3.9+.
"""

from __future__ import annotations

import os
import time

from threadpulse_agent.procstat import descendants, process_cpu, thread_ids, thread_times
from threadpulse_agent.protocol import process_cpu_event, process_gone_event, thread_cpu_event

SAMPLE_INTERVAL_S = 0.1  # as the dashboard's collector samples its own host (collector/udp.py)


class TreeSampler:
    """Samples the processes below `root` (the runner, by default: its command and all it starts)."""

    def __init__(self, root: int | None = None) -> None:
        self.root = os.getpid() if root is None else root
        self._seen: set[int] = set()

    def poll(self, now_ns: int) -> list[list]:
        """One look: per live process its threads' times then its own (so a reader has the threads
        when the process's event closes the sample), and the processes gone since the last look."""
        events: list = []  # of event tuples, as the reporter's other pollers return
        alive = set()
        for pid in descendants(self.root):
            cpu_ns = process_cpu(pid)
            if cpu_ns is None:
                continue
            t_ns = time.monotonic_ns()
            for tid, (on_cpu, runnable) in sorted(thread_times(pid, thread_ids(pid)).items()):
                events.append(thread_cpu_event(pid, tid, t_ns, on_cpu, runnable))
            events.append(process_cpu_event(pid, t_ns, cpu_ns))
            alive.add(pid)
        events += [process_gone_event(pid, now_ns) for pid in sorted(self._seen - alive)]
        self._seen = alive
        return events
