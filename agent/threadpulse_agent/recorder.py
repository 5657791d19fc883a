"""The agent's buffer between the request path and the reporter: bounded, lock-free, counted.

Request threads append events; the reporter drains them. When the buffer is full an event is
dropped and counted, never waited for (tokio-console's subscriber does the same). An entry is an
event, a record of one, `(constructor, *arguments)`, or an object whose `drained(keep)` hands its
events to `keep` (a WSGI request, which is its own record, and whose end the drain builds later,
`ended`): the reporter's drain builds them, so the request path appends its raw figures and the
event's texts are made off it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Sequence
from time import monotonic_ns
from typing import Any

from threadpulse_agent.schema import TIME_AT

MAX_BUFFERED = 20_000


def _nobody() -> None:
    """No reporter listens yet."""


def _time_of(event: Sequence[Any]) -> int:
    """When an event happened: its `t_ns`, wherever its kind keeps it."""
    return event[TIME_AT[event[0]]]


def _none_in_flight(keep: Callable[[Any], None], before_ns: int) -> None:
    """No WSGI middleware keeps requests in flight on this recorder."""


class Recorder:
    """Events waiting to be sent, and how many were dropped since the process started."""

    def __init__(self, limit: int = MAX_BUFFERED) -> None:
        # The request path appends to `events` itself, as `add` does (a Python call would cost it
        # ~1,000 instructions an event): below `limit` only, waking `notify` on the first.
        self.events: deque[Any] = deque()  # of entries, as above
        self.limit = limit
        self._drops = itertools.count()
        self._dropped = 0
        # Called when an event lands in an empty buffer: the reporter sets it, so the first event
        # after a quiet spell goes out at once. Only that event pays for it (the next ones find
        # the buffer non-empty until the reporter drains it, at most 20 times a second).
        self.notify: Callable[[], None] = _nobody
        # Called at the end of each drain with its `keep` and the time it began: the WSGI
        # middleware hands it the ends of the requests that ended since (middleware.py).
        self.ended: Callable[[Callable[[Any], None], int], None] = _none_in_flight

    def add(self, event: Any) -> None:
        """Buffer one event in O(1): deque.append and len are atomic under the GIL."""
        events = self.events
        waiting = len(events)
        if waiting < self.limit:
            events.append(event)
            if not waiting:
                self.notify()
        else:
            self.lose()

    def lose(self) -> None:
        """Count one event that never made it into the buffer (a full one, or a failed poll)."""
        self._dropped = next(self._drops) + 1

    def waiting(self) -> int:
        """How many events wait to be sent."""
        return len(self.events)

    def reset(self) -> None:
        """Forget everything (a forked child starts with its parent's buffer)."""
        self.events.clear()
        self._drops = itertools.count()
        self._dropped = 0
        self.notify = _nobody

    @property
    def dropped(self) -> int:
        return self._dropped

    def drain(self, most: int = MAX_BUFFERED) -> list[Sequence[Any]]:
        """Take up to `most` buffered events, oldest first, each record built into its events
        (only the reporter calls this), then the ends of the requests that ended before the drain
        began (`ended`), all in the order they happened. A record that cannot be made into an
        event (what the request path kept came from the app: a status that is no text) is left
        out and counted as dropped.

        One loop in one frame: a first pass to see whether any record waits, then a method call
        per record, cost the drain 15% more (484 against 415 ns an event of a Flask `/hello`,
        side by side in one process)."""
        events = self.events
        began_ns = monotonic_ns()
        # Only the reporter takes events out, so the count read first are all there to pop.
        taken = map(deque.popleft, itertools.repeat(events, min(len(events), most)))
        built: list[Sequence[Any]] = []
        keep = built.append
        for entry in taken:
            try:
                if type(entry) is not tuple:
                    entry.drained(keep)
                    continue
                head = entry[0]
                keep(entry if type(head) is str else head(*entry[1:]))
            except Exception:
                self.lose()
        drained = len(built)
        self.ended(keep, began_ns)
        if drained and len(built) > drained:
            # The ends came last, after begins of other tasks that came later: a server's
            # requests in flight would read one too many (a closed loop of 3 connections peaked at
            # 4). In time order (stable: a task's events, in its order, keep it).
            built.sort(key=_time_of)
        return built
