"""Hub stalls: one green thread or asyncio task holds its process's hub (the agent's `stall` and
`stall_end` events), every other request there starves, and each run with a request held up is
credited the time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dashboard.model.run_book import LoadRun
from dashboard.model.tasks import Process


def stall(process: Process, task_id: int, t_ns: int) -> None:
    """Task `task_id` holds the hub from `t_ns`: it runs, every other request of the process starves."""
    process.stalled_by = task_id
    if process.stalled_ns is None:
        process.stalled_ns = t_ns
    for task in process.tasks.values():
        if task.request is not None and task.gone_ns is None:
            if task.request.run is not None:
                process.stalled_runs.add(task.request.run)
            if task.id == task_id:
                task.set_state("running", None, t_ns)
            else:
                task.set_state("starved", "hub", t_ns)


def stall_end(process: Process, t_ns: int, runs: Mapping[str, LoadRun]) -> None:
    """The hub runs again: each run that had a request in the process then was held up that long
    (the stalling request itself has often ended by now)."""
    credit(process, t_ns, runs)
    process.stalled_by = process.stalled_ns = None
    process.stalled_runs.clear()
    for task in process.tasks.values():
        if task.request is not None and (task.state, task.why) == ("starved", "hub"):
            task.set_state("waiting", None, t_ns)


def run_ended(processes: Iterable[Process], run_id: str, t_ns: int, runs: Mapping[str, LoadRun]) -> None:
    """Run `run_id` is over: a stall still on counts for it until `t_ns`, and no longer."""
    for process in processes:
        if run_id in process.stalled_runs:
            credit(process, t_ns, runs)
            process.stalled_runs.discard(run_id)


def credit(process: Process, t_ns: int, runs: Mapping[str, LoadRun]) -> None:
    """Add the stall so far to the runs it holds up; the rest of it counts from `t_ns` on."""
    if process.stalled_ns is None:
        return
    held_ms = max(0, t_ns - process.stalled_ns) / 1e6
    for run_id in process.stalled_runs:
        if run_id in runs:
            runs[run_id].hub_blocked_ms += held_ms
    process.stalled_ns = max(process.stalled_ns, t_ns)
