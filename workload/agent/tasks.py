"""Which task (OS thread or green thread) is running the current request.

Called on the request path, so it does as little as it can: one thread-local lookup once a
task is known.
"""

from __future__ import annotations

import sys
import threading

from workload.agent.protocol import MAX_NAME, Task


def os_threading():
    """The real `threading` module, also under eventlet's monkey patching.

    The reporter must be a real OS thread so it still runs while a green thread hogs the hub.
    """
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched("thread"):
            return patcher.original("threading")
    return threading


class TaskRegistry:
    """Tasks that have served a request in this process, keyed by task id.

    Written by request threads (a dict store is atomic under the GIL), read by the reporter.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self.known: dict[int, Task] = {}
        self.generation = 0

    def reset(self) -> None:
        """Forget every task (a forked child has only the thread that forked)."""
        self._local = threading.local()
        self.known = {}

    def current(self) -> int:
        """The current task's id, registering the task the first time it is seen."""
        task_id = getattr(self._local, "task_id", None)
        if task_id is None:
            task_id = self._register()
        return task_id

    def _register(self) -> int:
        greenlet = _current_greenlet()
        thread = threading.current_thread()
        if greenlet is not None:
            task = Task(id(greenlet), _green_name(greenlet), "greenlet", threading.get_native_id())
        else:
            task = Task(
                threading.get_native_id(), thread.name[:MAX_NAME], "thread", threading.get_native_id()
            )
        self._local.task_id = task.id
        self.known[task.id] = task
        self.generation += 1
        return task.id

    def alive(self) -> list[Task]:
        """The known tasks that still exist; forgets the rest (so the page can show them gone)."""
        native = {t.native_id for t in os_threading().enumerate()}
        alive = []
        for task in list(self.known.values()):
            if task.kind == "greenlet" or task.native_id in native:
                alive.append(task)
            else:
                self.known.pop(task.id, None)
        return alive


def _current_greenlet():
    """The running greenlet when a green-thread server runs us, else None."""
    if "eventlet" not in sys.modules and "gevent" not in sys.modules:
        return None
    import greenlet

    current = greenlet.getcurrent()
    return None if current.parent is None else current


def _green_name(greenlet) -> str:
    return f"GreenThread-{id(greenlet) & 0xFFFF:04x}"[:MAX_NAME]
