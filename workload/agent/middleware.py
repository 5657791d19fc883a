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

from workload.agent.protocol import MAX_TEXT
from workload.agent.recorder import Recorder
from workload.agent.tasks import TaskRegistry

TAG_HEADER = "HTTP_X_THREADPULSE_TAG"


class _Body:
    """The application's response iterable; records the end when the server closes it."""

    __slots__ = ("_inner", "_end")

    def __init__(self, inner: Iterable[bytes], end: Callable[[], None]) -> None:
        self._inner = inner
        self._end = end

    def __iter__(self):
        return iter(self._inner)

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._end()


class AgentMiddleware:
    """Wraps any WSGI app; each request becomes a `begin` and an `end` event."""

    def __init__(self, app: Callable, recorder: Recorder, registry: TaskRegistry) -> None:
        self.app = app
        self.recorder = recorder
        self.registry = registry
        self.busy: dict[int, int] = {}  # task id -> thread ident, for the stack sampler
        self._ids = itertools.count()
        self._prefix = f"{os.getpid()}-"
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._prefix = f"{os.getpid()}-"

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        add = self.recorder.add
        busy = self.busy
        task = self.registry.current()
        busy[task] = get_ident()
        request_id = self._prefix + str(next(self._ids))
        status = [""]

        def recording_start_response(code: str, headers: list, exc_info: Any = None) -> Callable:
            status[0] = code[:3]
            return start_response(code, headers, exc_info)

        def end() -> None:
            busy.pop(task, None)
            add(["end", task, time.monotonic_ns(), request_id, status[0]])

        add(
            [
                "begin",
                task,
                time.monotonic_ns(),
                request_id,
                environ.get("REQUEST_METHOD", "")[:16],
                environ.get("PATH_INFO", "")[:MAX_TEXT],
                environ.get(TAG_HEADER, "")[:MAX_TEXT] or None,
            ]
        )
        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            end()
            raise
        return _Body(body, end)
