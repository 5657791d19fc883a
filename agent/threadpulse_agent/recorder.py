"""The agent's buffer between the request path and the reporter: bounded, lock-free, counted.

Request threads append events; the reporter drains them. When the buffer is full an event is
dropped and counted, never waited for (tokio-console's subscriber does the same).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

MAX_BUFFERED = 20_000


def _nobody() -> None:
    """No reporter listens yet."""


class Recorder:
    """Events waiting to be sent, and how many were dropped since the process started."""

    def __init__(self, limit: int = MAX_BUFFERED) -> None:
        self._events: deque[Sequence[Any]] = deque()
        self._limit = limit
        self._drops = itertools.count()
        self._dropped = 0
        # Called when an event lands in an empty buffer: the reporter sets it, so the first event
        # after a quiet spell goes out at once. Only that event pays for it (the next ones find
        # the buffer non-empty until the reporter drains it, at most 20 times a second).
        self.notify: Callable[[], None] = _nobody

    def add(self, event: Sequence[Any]) -> None:
        """Buffer one event in O(1): deque.append and len are atomic under the GIL."""
        events = self._events
        waiting = len(events)
        if waiting < self._limit:
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
        return len(self._events)

    def reset(self) -> None:
        """Forget everything (a forked child starts with its parent's buffer)."""
        self._events.clear()
        self._drops = itertools.count()
        self._dropped = 0
        self.notify = _nobody

    @property
    def dropped(self) -> int:
        return self._dropped

    def drain(self, most: int = MAX_BUFFERED) -> list[Sequence[Any]]:
        """Take up to `most` buffered events, oldest first (only the reporter calls this)."""
        events = self._events
        # Only the reporter takes events out, so the count read first are all there to pop.
        return list(map(deque.popleft, itertools.repeat(events, min(len(events), most))))
