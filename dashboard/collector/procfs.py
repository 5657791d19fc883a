"""CPU and queue figures from the OS, read from outside the workload process.

Read from inside a process whose threads are CPU-bound, every step waits for the GIL (measured:
~380 ms a call); from here it costs ~0.4 ms, and the workload is not slowed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from dashboard.model.tasks import ProcessSample

NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
TCP_LISTEN = "0A"


def _stat_fields(path: str) -> list[bytes] | None:
    """The fields of a /proc stat file after the command name (which may hold spaces)."""
    try:
        with open(path, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()


def sample_process(pid: int, tids: Iterable[int]) -> ProcessSample | None:
    """The process's CPU so far and, per thread, (ns on a CPU, ns runnable waiting for a core).

    None when the process is gone or a zombie; threads that have exited are left out.
    """
    fields = _stat_fields(f"/proc/{pid}/stat")
    if fields is None or fields[0] in (b"Z", b"X"):
        return None
    cpu_ns = (int(fields[11]) + int(fields[12])) * NS_PER_TICK  # utime + stime
    threads = {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                on_cpu, runnable = f.read().split()[:2]
            threads[tid] = (int(on_cpu), int(runnable))
        except (OSError, ValueError):
            continue
    return ProcessSample(cpu_ns, threads)


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
