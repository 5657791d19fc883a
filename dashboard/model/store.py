"""The model behind one lock: events go in through `apply`, the API and broadcaster read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from dashboard.model.events import Event, fold
from dashboard.model.live import Model

T = TypeVar("T")


class Store:
    """Hands the model to one caller at a time, so readers never see half an update.

    `apply` is the model's one way in: the model is a fold of the events it was given, and
    `taps` (the recorder) see each event in the order it was folded. `now_ns` is the clock the
    views read: the host's monotonic clock live, the replay's clock in a replay.
    """

    def __init__(
        self,
        model: Model | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._model = model or Model()
        self._lock = threading.Lock()
        self.now_ns, self.wall = clock, wall  # the wall clock at now_ns (a report's date)
        self.taps: list[Callable[[Event], None]] = []  # each must return at once (never block)
        self.changed = threading.Event()  # set by every event: the broadcaster waits on it

    def use(self, fn: Callable[[Model], T]) -> T:
        """Run `fn` on the model while holding the lock; keep `fn` short and free of I/O."""
        with self._lock:
            return fn(self._model)

    def apply(self, event: Event) -> None:
        """Fold one event into the model, hand it to the taps, and wake the broadcaster, so viewers
        see it without waiting for a tick."""
        try:
            with self._lock:
                fold(self._model, event)
                for tap in self.taps:
                    tap(event)
        finally:
            self.changed.set()

    def replace(self, model: Model) -> None:
        """Swap in another model (a replay's seek folds one from the start)."""
        with self._lock:
            self._model = model
        self.changed.set()
