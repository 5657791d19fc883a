"""The WSGI requests whose `begin` the reporter has built and whose `end` it has not yet.

The request path appends a request's record once, at its begin; when the server closes the reply
it stamps the end and lets go of the environ, last (middleware.py), and appends nothing more. The
reporter's drain keeps the records it meets here and builds each one's end on the first drain
that finds it ended: the reporter ticks every interval while a request is in flight, so an end
goes out one interval after its request at most, as when it was appended.

Order is the drain's: it puts the events it built, these ends among them, in the order they
happened (recorder.py), so an end sits after what its task did before it and before any later
begin, of its task or another's. Here each end goes out once (its record is forgotten as it is
built), and a task's closed request is ended before its next begin takes its place (`settle`).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

# Requests of one task in flight at once: more than an app calling itself through the agent would
# nest, fewer than a server that never closes its replies (against PEP 3333) would pile up.
MAX_NESTED = 8

_T_END = attrgetter("t_end")

Keep = Callable[[Any], None]


class InFlight:
    """Requests in flight by task. A record has `environ` (None once the server has closed it),
    `t_end` (set before that) and `end()`, which builds its end event."""

    def __init__(self, lose: Callable[[], None]) -> None:
        # Task id -> its request in flight, or a list of them, oldest first, when the app calls
        # itself through the agent: one object a task, no list made for the usual case.
        self.by_task: dict[int, Any] = {}
        self._lose = lose

    def clear(self) -> None:
        """Forget every request (a forked child serves none of its parent's)."""
        self.by_task.clear()

    def begun(self, task: int, request: Any) -> None:
        """The request's begin has been built: its end is to come. Beyond MAX_NESTED on one task
        the oldest is taken for never closed (its server or a middleware around ours did not
        close it), and forgotten: it would have had no end either way."""
        held = self.by_task.get(task)
        if held is None:
            self.by_task[task] = request
            return
        nested = held if type(held) is list else [held]
        if len(nested) >= MAX_NESTED:
            del nested[0]
        nested.append(request)
        self.by_task[task] = nested

    def settle(self, task: int, keep: Keep, before_ns: int | None = None) -> None:
        """Hand `keep` the ends of the task's requests the server has closed (before `before_ns`,
        when given), in the order they ended, and forget them."""
        held = self.by_task.get(task)
        if held is None:
            return
        if type(held) is not list:
            if held.environ is None and (before_ns is None or held.t_end < before_ns):
                del self.by_task[task]
                try:
                    keep(held.end())
                except Exception:  # what the request path kept came from the app: a status that is no text
                    self._lose()
            return
        ended = [r for r in held if r.environ is None and (before_ns is None or r.t_end < before_ns)]
        for request in sorted(ended, key=_T_END):
            held.remove(request)
            try:
                keep(request.end())
            except Exception:
                self._lose()
        if not held:
            del self.by_task[task]

    def ended(self, keep: Keep, before_ns: int) -> None:
        """After a drain that began at `before_ns`: the ends of the requests that ended before it
        (every event their tasks buffered before their end was in it, or in an earlier one)."""
        for task in list(self.by_task):
            self.settle(task, keep, before_ns)
