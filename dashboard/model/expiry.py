"""Forgetting the gone: processes and tasks leave the page a while after they went, and a gone
process makes room for a new source when the model is full."""

from __future__ import annotations

from dashboard.model.tasks import Process, ProcessKey

GONE_KEPT_NS = 5_000_000_000  # a gone process or task stays on the page this long


def expire(processes: dict[ProcessKey, Process], now_ns: int) -> None:
    """Forget processes and tasks that have been gone long enough to have been seen going."""
    for key, process in list(processes.items()):
        if process.gone_ns is not None and now_ns - process.gone_ns > GONE_KEPT_NS:
            del processes[key]
            continue
        for task_id, task in list(process.tasks.items()):
            if task.gone_ns is not None and now_ns - task.gone_ns > GONE_KEPT_NS:
                del process.tasks[task_id]


def evict_gone(processes: dict[ProcessKey, Process]) -> bool:
    """Make room for a new source by forgetting the process gone longest, if any: a flood of
    datagrams from made-up pids (gone at the next /proc sample) must not lock real servers out."""
    gone = {key: p.gone_ns for key, p in processes.items() if p.gone_ns is not None}
    if not gone:
        return False
    del processes[min(gone, key=gone.__getitem__)]
    return True
