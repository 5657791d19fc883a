"""WSGI middleware that records when each request starts and ends on which task.

The request path does O(1) work with no locks and no I/O: a thread-local lookup, two clock reads
and two appends to the recorder's bounded buffer. What it appends is a record, the event's
constructor and its raw arguments; the reporter thread builds the event from it (cutting texts,
the status code, the route's name), off the request path. Nothing here may raise into the
application.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from threading import get_ident
from time import monotonic_ns
from typing import Any

from threadpulse_agent import server
from threadpulse_agent.protocol import TAG_ENVIRON, begin_event, end_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.tasks import TaskRegistry


class _Request:
    """One request in flight: passes the status on, and records the end when the server closes it.

    One object a request, made with no `__init__` (the middleware fills its slots), and no other
    call on the request path than the ones WSGI makes: measured by valgrind, each Python call
    costs the request ~400-1,000 instructions, and around Flask they run with cold caches.
    """

    __slots__ = ("agent", "task", "number", "status", "rule", "start_response", "inner", "environ")

    def start(self, code: str, headers: list, exc_info: Any = None) -> Callable:
        # The status line and the URL rule the app matched (`/post/<int:post_id>`): werkzeug keeps
        # its request in the environ, and Flask's names the rule it routed to. Read now, once it
        # has routed: Flask empties `werkzeug.request` when its request context pops, before its
        # `wsgi_app` returns. Both are made into the event's texts by the reporter (`_ended`).
        self.status = code
        environ = self.environ
        if "werkzeug.request" in environ:  # not Flask: skip a failing lookup (~300 instructions)
            self.rule = getattr(environ["werkzeug.request"], "url_rule", None)
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
            agent, task = self.agent, self.task
            events = agent.events  # Recorder.add, inlined
            waiting = len(events)
            if waiting < agent.limit:
                events.append((_ended, task, monotonic_ns(), self.number, self.status, self.rule))
                if not waiting:
                    agent.recorder.notify()
            else:
                agent.recorder.lose()
            try:
                del agent.busy[task]
            except KeyError:  # forgotten by a fork meanwhile
                pass


def _ended(task: int, t_ns: int, number: int, status: Any, rule: Any) -> tuple:
    """The `end` event of a request, built on the reporter thread from what the request path kept:
    the status line's code, and the matched rule's text (None for an app that is not Flask's, or a
    request no rule matched: a 404)."""
    route = getattr(rule, "rule", None)
    return end_event(task, t_ns, number, status[:3], route if type(route) is str else None)


class AgentMiddleware:
    """Wraps any WSGI app; each request becomes a `begin` and an `end` event."""

    def __init__(self, app: Callable, recorder: Recorder, registry: TaskRegistry) -> None:
        self.app = app
        self.recorder = recorder
        self.events, self.limit = recorder.events, recorder.limit
        self.registry = registry
        # Task id -> `threading.get_ident()` on the request's thread, for the stack sampler: the key of
        # an OS thread's frame in `sys._current_frames()`. Under monkey patching it is a green id,
        # unused: the task registry reads a green thread's frame from the greenlet.
        self.busy: dict[int, int] = {}
        self.numbers = itertools.count()  # a request's number in its process (a forked child's
        # numbers follow on from its parent's: with its own pid, PID-N stays unique)
        self.server_seen = False  # the first request's environ tells what server runs us
        self._local = threading.local()  # `ids`: (task id, thread ident) of a task seen before

    def reset(self) -> None:
        """Forget every task (a forked child has only the thread that forked, with a new id)."""
        self.busy.clear()
        self._local = threading.local()

    def _first_sight(self, environ: dict[str, Any]) -> tuple[int, int]:
        """A task's first request: register it (and note the server, on the process's first)."""
        if not self.server_seen:
            self.server_seen = True
            server.note_environ(environ)
        ids = self._local.ids = (self.registry.current(), get_ident())
        return ids

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            task, ident = self._local.ids
        except AttributeError:
            task, ident = self._first_sight(environ)
        self.busy[task] = ident
        request = _Request()
        request.number = number = next(self.numbers)
        request.agent = self
        request.task = task
        request.start_response = start_response
        request.status = ""
        request.environ = environ
        request.rule = None
        events = self.events  # Recorder.add, inlined
        waiting = len(events)
        if waiting < self.limit:
            # `in` and a subscript, not `environ.get`: a method call costs ~130 instructions more
            # (valgrind, around a minimal app), three of them a request.
            events.append(
                (begin_event, task, monotonic_ns(), number,
                 environ["REQUEST_METHOD"] if "REQUEST_METHOD" in environ else "",
                 environ["PATH_INFO"] if "PATH_INFO" in environ else "",
                 environ[TAG_ENVIRON] if TAG_ENVIRON in environ else "")
            )  # fmt: skip
            if not waiting:
                self.recorder.notify()
        else:
            self.recorder.lose()
        try:
            request.inner = self.app(environ, request.start)
        except BaseException:
            request.inner = ()
            request.close()
            raise
        return request
