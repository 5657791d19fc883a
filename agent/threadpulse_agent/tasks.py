"""Which task (OS thread or green thread) is running the current request.

Called on the request path, so it does as little as it can: one thread-local lookup once a
task is known.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import threading
import weakref
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

from threadpulse_agent.protocol import MAX_NAME, Task


def os_threading() -> ModuleType:
    """The real `threading` module, also under eventlet's or gevent's monkey patching.

    The reporter must be a real OS thread so it still runs while a green thread hogs the hub.
    """
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched("thread"):
            return patcher.original("threading")
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("threading"):
            from threadpulse_agent import native

            return native
    return threading


class TaskRegistry:
    """Tasks that have served a request in this process, keyed by task id.

    Written by request threads (a dict store is atomic under the GIL), read by the reporter.
    An OS thread's id is its native id; a green thread or asyncio task, which has none of its
    own, gets a number from a counter, and is forgotten once it has finished, so the page shows
    it gone (eventlet's pool and gevent spawn a fresh greenlet per connection).
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self.known: dict[int, Task] = {}
        self._units: dict[int, tuple[Callable[[], Any], int]] = {}  # green/async: (weakref, OS ident)
        self._numbers = itertools.count(1)
        self._seen_finished: set[int] = set()
        self.generation = 0

    def reset(self) -> None:
        """Forget every task (a forked child has only the thread that forked)."""
        self._local = threading.local()
        self.known = {}
        self._units = {}
        self._seen_finished = set()

    def current(self) -> int:
        """The current task's id, registering the task the first time it is seen."""
        task_id = getattr(self._local, "task_id", None)
        if task_id is None:
            task_id = self._register()
        return task_id

    def current_asyncio(self, task: asyncio.Task) -> int:
        """The id of an asyncio task (a request of an ASGI server), registered on first sight."""
        task_id = getattr(task, "_threadpulse_id", None)
        if task_id is None:
            task_id = next(self._numbers)
            task._threadpulse_id = task_id
            self._add(Task(task_id, task.get_name()[:MAX_NAME], "asyncio", threading.get_native_id()), task)
        return task_id

    def adopt(self, task_id: int, task: asyncio.Task) -> None:
        """A task the request's task spawned (Quart runs the view in one) now stands for it."""
        task._threadpulse_id = task_id
        if task_id in self._units:
            self._units[task_id] = (weakref.ref(task), _os_ident())

    def _register(self) -> int:
        greenlet = _current_greenlet()
        if greenlet is not None:
            task = Task(next(self._numbers), _green_name(greenlet), "greenlet", threading.get_native_id())
            self._add(task, greenlet)
        else:
            native = threading.get_native_id()
            task = Task(native, threading.current_thread().name[:MAX_NAME], "thread", native)
            self.known[task.id] = task
            self.generation += 1
        self._local.task_id = task.id
        return task.id

    def _add(self, task: Task, unit: Any) -> None:
        self._units[task.id] = (weakref.ref(unit), _os_ident())
        self.known[task.id] = task
        self.generation += 1

    def alive(self) -> list[Task]:
        """The roster: known tasks that still exist, and those found finished only now.

        A task that finished is listed once more: its `end` event was recorded before it
        finished, and goes out in the same flush as this roster, after it. Only the next roster
        leaves it out, so the collector never sees a task gone before the end of its request.
        """
        native = _native_ids()
        alive = []
        for task in list(self.known.values()):
            if task.id in self._units:
                unit = self._units[task.id][0]()
                exists = unit is not None and not _finished(unit)
            else:
                exists = task.native_id in native
            if exists or task.id not in self._seen_finished:
                alive.append(task)
                if not exists:
                    self._seen_finished.add(task.id)
            else:
                self.known.pop(task.id, None)
                self._units.pop(task.id, None)
                self._seen_finished.discard(task.id)
        return alive

    def frame(self, task_id: int, os_frames: dict[int, FrameType]) -> FrameType | None:
        """Where a green thread or asyncio task is in its code (None for an OS thread).

        `sys._current_frames()` sees OS threads only: a suspended greenlet keeps its frame in
        `gr_frame`; the one running now (gr_frame None) is wherever its OS thread is.
        """
        entry = self._units.get(task_id)
        unit = entry[0]() if entry is not None else None
        if unit is None:
            return None
        if isinstance(unit, asyncio.Task):
            if unit is asyncio.current_task(unit.get_loop()):
                return os_frames.get(entry[1])
            return _innermost(unit.get_coro())
        frame = unit.gr_frame
        if frame is None and not unit.dead:
            frame = os_frames.get(entry[1])
        return frame

    def running_green(self) -> int | None:
        """The id of the green thread that holds its OS thread now, if one of ours does."""
        for task_id, (ref, _) in list(self._units.items()):
            unit = ref()
            if unit is not None and not isinstance(unit, asyncio.Task):
                if unit.gr_frame is None and not unit.dead and bool(unit):
                    return task_id
        return None


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)


def _innermost(coro: Any) -> FrameType | None:
    """The innermost coroutine outside asyncio itself that a suspended one awaits.

    Task.get_stack stops at the task's own coroutine; the request's code is further down the
    `cr_await` chain, just above asyncio's `sleep` or future.
    """
    frame = None
    while coro is not None and hasattr(coro, "cr_frame"):
        if coro.cr_frame is not None and not coro.cr_frame.f_code.co_filename.startswith(_ASYNCIO_DIR):
            frame = coro.cr_frame
        coro = coro.cr_await
    return frame


def _native_ids() -> set[int]:
    """This process's threads as the OS lists them (Linux), else as `threading` knows them.

    `threading` can be wrong: CPython 3.11 keeps the parent's native id on the thread that
    forked, so a gunicorn sync worker's main thread would look gone after its first request.
    """
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except (OSError, ValueError):
        return {t.native_id for t in os_threading().enumerate()}


def _finished(unit: Any) -> bool:
    return unit.done() if isinstance(unit, asyncio.Task) else unit.dead


def _os_ident() -> int:
    """The real OS thread's ident, as `sys._current_frames()` keys it (green libraries patch it)."""
    if "gevent" in sys.modules:
        from gevent import monkey

        return monkey.get_original("_thread", "get_ident")()
    return os_threading().get_ident()


def _current_greenlet():
    """The running greenlet when a green-thread server runs us, else None."""
    if "eventlet" not in sys.modules and "gevent" not in sys.modules:
        return None
    import greenlet

    current = greenlet.getcurrent()
    return None if current.parent is None else current


def _green_name(greenlet: Any) -> str:
    """The name the green library gives the running green thread: gevent's own (Greenlet-N;
    its patched `threading` would say Dummy-N), else `threading`'s (eventlet: GreenThread-N)."""
    name = getattr(greenlet, "name", None)
    return (name if isinstance(name, str) and name else threading.current_thread().name)[:MAX_NAME]
