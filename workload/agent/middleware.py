"""WSGI middleware that records when each request starts and ends on which task.

The request path does O(1) work: a thread-local lookup, a clock read and a deque append per
event. No locks, no I/O, and nothing here may raise into the application.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable
from threading import get_ident
from typing import Any

from workload.agent.protocol import TAG_ENVIRON, begin_event, end_event
from workload.agent.recorder import Recorder
from workload.agent.tasks import TaskRegistry


class _Request:
    """One request in flight: passes the status on, and records the end when the server closes it.

    One object a request, with no closures: on `/hello` the agent's whole budget is a few µs.
    """

    __slots__ = ("add", "busy", "task", "request_id", "status", "start_response", "inner")

    def __init__(
        self, add: Callable, busy: dict, task: int, request_id: str, start_response: Callable
    ) -> None:
        self.add, self.busy, self.task = add, busy, task
        self.request_id, self.start_response = request_id, start_response
        self.status = ""
        self.inner: Iterable[bytes] = ()

    def start(self, code: str, headers: list, exc_info: Any = None) -> Callable:
        self.status = code[:3]
        return self.start_response(code, headers, exc_info)

    def __iter__(self):
        return iter(self.inner)

    def close(self) -> None:
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self.end()

    def end(self) -> None:
        self.busy.pop(self.task, None)
        self.add(end_event(self.task, time.monotonic_ns(), self.request_id, self.status))


class AgentMiddleware:
    """Wraps any WSGI app; each request becomes a `begin` and an `end` event."""

    def __init__(self, app: Callable, recorder: Recorder, registry: TaskRegistry) -> None:
        self.app = app
        self.recorder = recorder
        self.registry = registry
        # Task id -> `threading.get_ident()` on the request's thread, for the stack sampler: the key of
        # an OS thread's frame in `sys._current_frames()`. Under monkey patching it is a green id,
        # unused: the task registry reads a green thread's frame from the greenlet.
        self.busy: dict[int, int] = {}
        self._ids = itertools.count()
        self._prefix = f"{os.getpid()}-"
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._prefix = f"{os.getpid()}-"

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        add = self.recorder.add
        task = self.registry.current()
        self.busy[task] = get_ident()
        request = _Request(add, self.busy, task, self._prefix + str(next(self._ids)), start_response)
        get = environ.get
        method, path, tag = get("REQUEST_METHOD", ""), get("PATH_INFO", ""), get(TAG_ENVIRON, "")
        add(begin_event(task, time.monotonic_ns(), request.request_id, method, path, tag))
        try:
            request.inner = self.app(environ, request.start)
        except BaseException:
            request.end()
            raise
        return request
