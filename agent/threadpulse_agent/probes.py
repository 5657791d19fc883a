"""Server internals the agent can read when the server hands them over (a gunicorn hook does).

`queue_depth` answers how many accepted requests wait inside this worker for a free thread:
gthread's executor queue (gunicorn issue #908), invisible from outside the process.
"""

from __future__ import annotations

from collections.abc import Callable

from threadpulse_agent.protocol import queue_event

queue_depth: Callable[[], int] | None = None


class QueueProbe:
    """Reports the worker's in-process queue depth when it changes, and every second anyway."""

    def __init__(self) -> None:
        self._last = -1
        self._next_ns = 0

    def poll(self, now_ns: int) -> list[list]:
        probe = queue_depth
        if probe is None:
            return []
        try:
            depth = int(probe())
        except Exception:  # a probe into server internals must never break reporting
            return []
        if depth == self._last and now_ns < self._next_ns:
            return []
        self._last, self._next_ns = depth, now_ns + 1_000_000_000
        return [queue_event(now_ns, max(0, depth))]
