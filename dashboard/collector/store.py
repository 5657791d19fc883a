"""The model behind one lock: the collector writes, the API and broadcaster read."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from dashboard.model.live import Model

T = TypeVar("T")


class Store:
    """Hands the model to one caller at a time, so readers never see half an update."""

    def __init__(self, model: Model | None = None) -> None:
        self._model = model or Model()
        self._lock = threading.Lock()
        self.changed = threading.Event()  # set by every update: the broadcaster waits on it

    def use(self, fn: Callable[[Model], T]) -> T:
        """Run `fn` on the model while holding the lock; keep `fn` short and free of I/O."""
        with self._lock:
            return fn(self._model)

    def update(self, fn: Callable[[Model], T]) -> T:
        """`use` for a change: also wakes the broadcaster, so viewers see it without waiting
        for a tick."""
        try:
            return self.use(fn)
        finally:
            self.changed.set()
