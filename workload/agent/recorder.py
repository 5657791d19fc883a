"""The agent's buffer between the request path and the reporter: bounded, lock-free, counted.

Request threads append events; the reporter drains them. When the buffer is full an event is
dropped and counted, never waited for (tokio-console's subscriber does the same).
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

MAX_BUFFERED = 20_000


class Recorder:
    """Events waiting to be sent, and how many were dropped since the process started."""

    def __init__(self, limit: int = MAX_BUFFERED) -> None:
        self._events: deque[list[Any]] = deque()
        self._limit = limit
        self._drops = itertools.count()
        self._dropped = 0

    def add(self, event: list[Any]) -> None:
        """Buffer one event in O(1): deque.append and len are atomic under the GIL."""
        if len(self._events) < self._limit:
            self._events.append(event)
        else:
            self._dropped = next(self._drops) + 1

    def reset(self) -> None:
        """Forget everything (a forked child starts with its parent's buffer)."""
        self._events.clear()
        self._drops = itertools.count()
        self._dropped = 0

    @property
    def dropped(self) -> int:
        return self._dropped

    def drain(self, most: int = 5_000) -> list[list[Any]]:
        """Take up to `most` buffered events, oldest first (only the reporter calls this)."""
        out = []
        pop = self._events.popleft
        try:
            for _ in range(most):
                out.append(pop())
        except IndexError:
            pass
        return out
