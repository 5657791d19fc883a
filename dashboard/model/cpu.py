"""Judging a task from the OS's view: its share of a core, and whether it runs, waits or is starved
(classify.py), from two /proc readings of its thread (time on CPU, time runnable but waiting)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from dashboard.model.classify import classify
from dashboard.model.runs import Run
from dashboard.model.sustained_run import SustainedRun
from dashboard.model.tasks import Process, ProcessSample, TaskState

CPU_WINDOW_NS = 1_000_000_000  # cpu_pct is the share of one core over this window
MIN_JUDGED_NS = 5_000_000  # less is too little to judge (one GIL switch interval)


def judge_cpu(
    process: Process, sample: ProcessSample, now_ns: int, runs: Mapping[str, Run | SustainedRun]
) -> None:
    """A live process's CPU reading: its share and each OS thread's, and the state each thread's
    window says it was in (added to its run's time in that state)."""
    process.cpu.append((now_ns, sample.cpu_ns))
    process.cpu_pct = share(process.cpu, now_ns - CPU_WINDOW_NS) * 100
    for task in process.tasks.values():
        times = sample.threads.get(task.native_id)
        if times is None or task.kind != "thread" or task.gone_ns is not None:
            continue
        previous = task.cpu[-1] if task.cpu else None
        task.cpu.append((now_ns, *times))
        task.cpu_pct = share(task.cpu, now_ns - CPU_WINDOW_NS) * 100
        if previous is not None:
            _judge_window(task, previous, task.cpu[-1], runs, process.gil)


def _judge_window(
    task: TaskState,
    previous: tuple,
    current: tuple,
    runs: Mapping[str, Run | SustainedRun],
    gil: bool = True,
) -> None:
    """Judge the window between two samples, and add it to the time spent in that state.

    Only the part since the request (or its declared phase) began is judged: a sync worker
    idle in accept() for the first 60 ms of a window, then computing, was otherwise "blocked
    in a CPU phase" there, which reads as the GIL in a process with no other request thread.
    A part too short to judge leaves the state as it was."""
    span = max(1, current[0] - previous[0])
    judged = current[0] - max(previous[0], task.since_ns)
    if task.request is not None and judged >= MIN_JUDGED_NS:
        on_cpu = min(1.0, (current[1] - previous[1]) / judged)
        runnable = min(1.0, (current[2] - previous[2]) / judged)
        task.set_state(*classify(task.phase, on_cpu, runnable, gil), current[0])
    label = task.state if task.why is None else f"{task.state}:{task.why}"
    task.state_ms[label] = task.state_ms.get(label, 0.0) + span / 1e6
    run_id = task.request.run if task.request is not None else None
    run = runs.get(run_id) if run_id is not None else None
    if run is not None:
        run.record_state(label, span / 1e6)


def share(samples: deque, since_ns: int) -> float:
    """CPU time over wall time from the oldest sample at or after `since_ns` to the newest."""
    newest_t, newest_cpu = samples[-1][:2]
    for sample in samples:
        t, cpu = sample[:2]
        if t >= since_ns and t < newest_t:
            return max(0.0, (newest_cpu - cpu) / (newest_t - t))
    return 0.0
