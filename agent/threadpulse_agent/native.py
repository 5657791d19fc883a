"""A real OS thread and event under gevent's monkey patching, for the agent's reporter.

gevent patches `threading` so that `Thread` starts a greenlet and `Event` waits on the hub: a
reporter built from them would stop whenever a request computes without yielding, which is
exactly when the page most needs to hear from it. These two use gevent's saved originals.
"""

from __future__ import annotations

from collections.abc import Callable

from gevent import monkey

_start = monkey.get_original("_thread", "start_new_thread")
_lock = monkey.get_original("_thread", "allocate_lock")


class Event:
    """threading.Event's set / clear / is_set / wait, on an unpatched lock that is held while
    the event is clear. Request greenlets set it while the reporter's OS thread waits on it, so
    every step tolerates the other thread having got there first."""

    def __init__(self) -> None:
        self._lock = _lock()
        self._lock.acquire()

    def set(self) -> None:
        try:
            self._lock.release()
        except RuntimeError:  # already set
            pass

    def clear(self) -> None:
        self._lock.acquire(False)

    def is_set(self) -> bool:
        return not self._lock.locked()

    def wait(self, timeout: float | None = None) -> bool:
        if self._lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            self.set()
            return True
        return False


class Thread:
    """The part of threading.Thread the reporter uses, started with the unpatched start_new_thread."""

    def __init__(self, target: Callable[[], None], name: str = "", daemon: bool = True) -> None:
        self._target = target
        self.name = name
        self._done = Event()

    def start(self) -> None:
        _start(self._run, ())

    def _run(self) -> None:
        try:
            self._target()
        finally:
            self._done.set()

    def join(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)


def enumerate() -> list:
    """No OS-thread tasks exist under gevent: requests run on greenlets."""
    return []
