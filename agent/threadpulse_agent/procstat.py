"""CPU figures from /proc, read from outside the process they describe: by the dashboard for this
host's servers (dashboard/collector/procfs.py), and by the runner's sampler for the host it runs on
(sampler.py), so both read the same figures the same way.

Read from inside a process whose threads are CPU-bound, every step waits for the GIL (measured:
~380 ms a call); from another process it costs ~0.4 ms, and the server is not slowed. Standard
library only, importable on Python 3.9.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
ThreadTimes = dict[int, tuple[int, int]]  # tid -> (ns on a CPU, ns runnable waiting for a core)


def _read(path: str) -> bytes:
    """A small /proc file's bytes, read without a file object: 2.7 times quicker than `open()` here
    (168 stat files: 5.3 ms against 14.3), which counts when a sampler reads them all 10 times a
    second. OSError when it cannot be read (the process or thread is gone)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def stat_fields(path: str) -> list[bytes] | None:
    """The fields of a /proc stat file after the command name (which may hold spaces); None when
    it cannot be read (the process is gone)."""
    try:
        stat = _read(path)
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()


def process_cpu(pid: int) -> int | None:
    """The process's CPU so far (utime + stime, ns); None when it is gone or a zombie."""
    fields = stat_fields(f"/proc/{pid}/stat")
    if fields is None or fields[0] in (b"Z", b"X"):
        return None
    return (int(fields[11]) + int(fields[12])) * NS_PER_TICK


def thread_times(pid: int, tids: Iterable[int]) -> ThreadTimes:
    """Per thread, (ns on a CPU, ns runnable waiting for a core) from its schedstat; threads that
    have exited are left out."""
    threads = {}
    for tid in tids:
        try:
            on_cpu, runnable = _read(f"/proc/{pid}/task/{tid}/schedstat").split()[:2]
            threads[tid] = (int(on_cpu), int(runnable))
        except (OSError, ValueError):
            continue
    return threads


def thread_ids(pid: int) -> list[int]:
    """The threads of a process now (none once it is gone)."""
    try:
        return [int(name) for name in os.listdir(f"/proc/{pid}/task") if name.isdecimal()]
    except OSError:
        return []


def descendants(root: int) -> list[int]:
    """Every process below `root` now, found from each process's parent in /proc/PID/stat (this
    kernel has no /proc/PID/task/TID/children): a tree is re-read at each look, so a worker
    forked or replaced since the last one is found."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdecimal():
            continue
        try:
            stat = _read(f"/proc/{name}/stat")
            parent = int(stat[stat.rfind(b")") + 2 :].split(b" ", 2)[1])  # state, then the parent
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(name))
    found, todo = [], [root]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return sorted(found)
