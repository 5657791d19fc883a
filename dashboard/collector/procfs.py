"""CPU figures from the OS, read from outside the workload process (the /proc readers
are the agent's, threadpulse_agent/procstat.py, which its remote sampler shares)."""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.model.tasks import ProcessSample
from threadpulse_agent.procstat import process_cpu, thread_times


def sample_process(pid: int, tids: Iterable[int]) -> ProcessSample | None:
    """The process's CPU so far and, per thread, (ns on a CPU, ns runnable waiting for a core).

    None when the process is gone or a zombie; threads that have exited are left out.
    """
    cpu_ns = process_cpu(pid)
    return None if cpu_ns is None else ProcessSample(cpu_ns, thread_times(pid, tids))
