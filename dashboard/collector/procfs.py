"""Per-thread CPU from the OS, read from outside the workload process.

Read from inside a process whose threads are CPU-bound, every step waits for the GIL (measured:
~380 ms a call); from here it costs ~0.4 ms, and the workload is not slowed.
"""

from __future__ import annotations

from collections.abc import Iterable


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"Z", b"X")


def thread_cpu_ns(pid: int, tids: Iterable[int]) -> dict[int, int] | None:
    """Nanoseconds on CPU so far per thread (schedstat's first field); None if the process is gone.

    Threads that have exited are left out of the answer.
    """
    if not process_alive(pid):
        return None
    out = {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                out[tid] = int(f.read().split(None, 1)[0])
        except (OSError, ValueError, IndexError):
            continue
    return out
