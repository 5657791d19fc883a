"""CPU and queue figures from the OS, read from outside the workload process (the /proc readers
are the agent's, threadpulse_agent/procstat.py, which its remote sampler shares)."""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.model.tasks import ProcessSample
from threadpulse_agent.procstat import process_cpu, thread_times

TCP_LISTEN = "0A"


def sample_process(pid: int, tids: Iterable[int]) -> ProcessSample | None:
    """The process's CPU so far and, per thread, (ns on a CPU, ns runnable waiting for a core).

    None when the process is gone or a zombie; threads that have exited are left out.
    """
    cpu_ns = process_cpu(pid)
    return None if cpu_ns is None else ProcessSample(cpu_ns, thread_times(pid, tids))


def accept_backlog(port: int) -> int | None:
    """Connections waiting in the kernel's accept queue of the socket listening on `port`.

    For a listening socket /proc/net/tcp's rx_queue is the accept queue's length (what `ss`
    shows as Recv-Q). None when nothing listens there.
    """
    found = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == TCP_LISTEN and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        found = (found or 0) + int(parts[4].split(":")[1], 16)
        except (OSError, ValueError, IndexError, StopIteration):
            continue
    return found
