"""Samples where in the code each busy task is, from the reporter thread, within a CPU budget.

`sys._current_frames()` costs 1–9 µs and walking a stack ~10 µs a thread (measured here); the
sampler measures its own CPU time and stretches its interval so it stays under ~1% of a core.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import CodeType, FrameType

from threadpulse_agent.protocol import MAX_STACK, sampling_event, stack_event

BUDGET = 0.01  # of one core
MIN_INTERVAL_NS = 200_000_000
REPORT_EVERY_NS = 1_000_000_000
DEPTH = 8


def format_stack(frame: FrameType | None) -> str:
    """Innermost frame first, one `function (file:line)` a line, cut to MAX_STACK characters.

    Another thread's frames can move under the walk (that thread runs between two of our
    bytecodes; CPython 3.11 was seen here to hand back a dict for a frame, in a gunicorn gthread
    worker): the walk stops at the first thing that is not a frame with code.
    """
    lines: list[str] = []
    while type(frame) is FrameType and len(lines) < DEPTH:
        code = frame.f_code
        if type(code) is not CodeType:
            break
        lines.append(f"{code.co_name} ({os.path.basename(code.co_filename)}:{frame.f_lineno})")
        frame = frame.f_back
    return "\n".join(lines)[:MAX_STACK]


class StackSampler:
    """Turns `busy` (task id -> the thread ident keying its frame in `sys._current_frames()`,
    kept by the WSGI or ASGI agent) into `stack` events."""

    def __init__(
        self,
        busy: dict[int, int],
        task_frame: Callable[[int, dict[int, FrameType]], FrameType | None],
    ) -> None:
        self.busy = busy
        # Green threads and asyncio tasks are not in sys._current_frames(): the task registry
        # reads their frames from the greenlet or task itself (None for an OS thread).
        self.task_frame = task_frame
        self.interval_ns = MIN_INTERVAL_NS
        self._next_ns = 0
        self._cost_ns = 0
        self._next_report_ns = 0

    def poll(self, now_ns: int) -> list[list]:
        """Events due now: stacks of the busy tasks, and once a second what sampling cost."""
        events: list[list] = []
        if now_ns >= self._next_ns and self.busy:
            start = time.thread_time_ns()
            frames = sys._current_frames()
            for task, ident in list(self.busy.items()):
                frame = self.task_frame(task, frames) or frames.get(ident)
                events.append(stack_event(task, now_ns, format_stack(frame)))
            cost = time.thread_time_ns() - start
            self._cost_ns += cost
            self.interval_ns = max(MIN_INTERVAL_NS, int(cost / BUDGET))
            self._next_ns = now_ns + self.interval_ns
        if now_ns >= self._next_report_ns:
            events.append(sampling_event(now_ns, self._cost_ns, self.interval_ns // 1_000_000))
            self._cost_ns = 0
            self._next_report_ns = now_ns + REPORT_EVERY_NS
        return events
