"""Another host's /proc, as its runner's sampler read it (`python -m threadpulse_agent`): its
`thread_cpu`, `process_cpu` and `process_gone` events made into the readings the dashboard takes
from its own /proc (one `ProcessSample` per process), so they are judged alike (cpu.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from dashboard.model.tasks import ProcessSample
from threadpulse_agent.protocol import Event, ProcessCpu, ProcessGone, ThreadCpu


class Reading(NamedTuple):
    """One process's reading, taken at `t_ns` (on the dashboard's clock once aligned)."""

    pid: int
    t_ns: int
    sample: ProcessSample


def readings(events: Iterable[Event]) -> tuple[list[Reading], list[tuple[int, int]]]:
    """The readings a sampler's datagram holds, and the (pid, t_ns) of the processes it saw go.

    A process's `thread_cpu` events come before its `process_cpu`, which closes its reading; threads
    whose process's event went in another datagram (a tree of over 80 threads) are left out."""
    threads: dict[int, dict[int, tuple[int, int]]] = {}
    out, gone = [], []
    for event in events:
        if isinstance(event, ThreadCpu):
            threads.setdefault(event.pid, {})[event.tid] = (event.on_cpu_ns, event.runnable_ns)
        elif isinstance(event, ProcessCpu):
            out.append(
                Reading(event.pid, event.t_ns, ProcessSample(event.cpu_ns, threads.pop(event.pid, {})))
            )
        elif isinstance(event, ProcessGone):
            gone.append((event.pid, event.t_ns))
    return out, gone
