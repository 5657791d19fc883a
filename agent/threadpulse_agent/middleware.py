"""WSGI middleware that records when each request starts and ends on which task.

The request path does O(1) work: a thread-local lookup, a clock read and a deque append per
event. No locks, no I/O, and nothing here may raise into the application.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from threading import get_ident
from time import monotonic_ns
from typing import Any

from threadpulse_agent import server
from threadpulse_agent.protocol import TAG_ENVIRON, begin_event, end_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.tasks import TaskRegistry

_new = object.__new__


class _Request:
    """One request in flight: passes the status on, and records the end when the server closes it.

    One object a request, with no closures and no `__init__` (the middleware fills its slots):
    on `/hello` the agent's whole budget is a couple of µs, and a Python call is ~0.1 µs of it.
    """

    __slots__ = ("agent", "task", "number", "status", "route", "start_response", "inner", "environ")

    def start(self, code: str, headers: list, exc_info: Any = None) -> Callable:
        self.status = code[:3]
        self.route = _route(self.environ)
        return self.start_response(code, headers, exc_info)

    def __iter__(self):
        return iter(self.inner)

    def close(self) -> None:
        """The server is done with the reply (or the app raised): the request ends here."""
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            agent = self.agent
            agent.recorder.add(end_event(self.task, monotonic_ns(), self.number, self.status, self.route))
            agent.busy.pop(self.task, None)


def _route(environ: dict[str, Any]) -> str | None:
    """The URL rule the app matched (`/post/<int:post_id>`): werkzeug keeps its request in the
    environ, and Flask's request names the rule it routed to. Read when the app starts its
    response, once it has routed: Flask empties `werkzeug.request` when its request context pops,
    before its `wsgi_app` returns. None for an app that is not Flask's, or a request no rule
    matched (a 404)."""
    rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
    route = getattr(rule, "rule", None)
    return route if type(route) is str else None


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
        self.numbers = itertools.count()  # a request's number in its process (a forked child's
        # numbers follow on from its parent's: with its own pid, PID-N stays unique)
        self.server_seen = False  # the first request's environ tells what server runs us

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if not self.server_seen:
            self.server_seen = True
            server.note_environ(environ)
        task = self.registry.current()
        self.busy[task] = get_ident()
        request = _new(_Request)
        request.agent, request.task, request.number = self, task, next(self.numbers)
        request.start_response, request.status, request.inner = start_response, "", ()
        request.environ, request.route = environ, None
        get = environ.get
        method, path, tag = get("REQUEST_METHOD", ""), get("PATH_INFO", ""), get(TAG_ENVIRON, "")
        self.recorder.add(begin_event(task, monotonic_ns(), request.number, method, path, tag))
        try:
            request.inner = self.app(environ, request.start)
        except BaseException:
            request.close()
            raise
        return request
