"""Sustained load: one run of a plan (closed loop or a fixed rate, schedules.py), its end reported
and its figures returned. The page starts it through the generator (`Sustain`); the benchmarks run
it alone (`python -m bench.sustained`).

Bursts open a connection per request to show queueing; this mode measures how much a server can
take, so it keeps its connections alive and must not be the bottleneck itself (connection.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from dashboard.loadgen.schedules import Load
from dashboard.loadspec.plan import Plan
from threadpulse_agent.protocol import run_end_event
from threadpulse_agent.recorder import Recorder


async def sustain(
    url: str,
    plan: Plan,
    run: str | None = None,
    recorder: Recorder | None = None,
    why_cut: Callable[[], str] = str,
    start_ns: int | None = None,
) -> dict:
    """Carry out `plan` against the server at `url` from `start_ns` (default: now); the figures as a
    dict. Cancelled, it ends every connection and reports the run's end with `why_cut()`."""
    load = Load(url, plan, run, recorder, start_ns)
    cpu_started = time.process_time()
    reason = ""
    try:
        if plan.mode == "rate":
            await load.fixed_rate()
        else:
            await asyncio.gather(*(load.closed_loop(i) for i in range(plan.connections)))
    except asyncio.CancelledError:
        reason = why_cut() or "cut short"
        load.cut()
    if recorder is not None:
        recorder.add(run_end_event(run, time.monotonic_ns(), reason))
    return load.tally.figures(load.loop.time() - load.started, time.process_time() - cpu_started)
