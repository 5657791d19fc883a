"""WSGI middleware that records when each request starts and ends on which task.

The request path does O(1) work with no locks and no I/O: a thread-local lookup, two clock reads,
one object and one append of it to the recorder's bounded buffer. The object is the request's
record: the reporter thread builds its `begin` event when it drains it, keeps it among the
requests in flight, and builds its `end` on the first drain that finds it ended (numbering the
request, cutting texts, the status code, the route's name, and keeping the busy tasks the stack
sampler reads), off the request path. Nothing here may raise into the application.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from threading import get_ident
from time import monotonic_ns
from typing import Any

from threadpulse_agent import server
from threadpulse_agent.inflight import InFlight, Keep
from threadpulse_agent.protocol import TAG_ENVIRON, begin_event, end_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.tasks import TaskRegistry


class _Request:
    """One request in flight, and its record in the recorder's buffer: the reply the server gets
    back (it passes the status on, and stamps the end when the server closes it).

    Made with no `__init__` (the middleware fills its slots), and no other call on the request path
    than the ones WSGI makes: measured by valgrind, each Python call costs the request ~400-1,000
    instructions, and around Flask they run with cold caches. `status` and `rule` stay unset when
    the app raised before it started its response: the reporter reads them with a default (a slot
    read unset raises, a cost the reporter pays only then).

    Its end is not appended: the reporter, which ticks every interval while a request is in flight,
    finds it ended by its `environ`, let go last when the server closes it (inflight.py).
    On a free-threaded build (3.13t) a slot is read with an atomic load and written with a release
    store (`Objects/structmember.c`): a reporter that sees the environ gone sees the `t_end`,
    `status` and `rule` stored before it.
    """

    __slots__ = (
        "ids", "number", "start_response", "environ", "inner", "method", "path", "tag", "t_begin",
        "t_end", "status", "rule",
    )  # fmt: skip

    def start(self, code: str, headers: list, exc_info: Any = None) -> Callable:
        # The status line and the URL rule the app matched (`/post/<int:post_id>`): werkzeug keeps
        # its request in the environ, and Flask's names the rule it routed to. Read now, once it
        # has routed: Flask empties `werkzeug.request` when its request context pops, before its
        # `wsgi_app` returns. Both are made into the event's texts by the reporter (`end`).
        self.status = code
        environ = self.environ
        if "werkzeug.request" in environ:  # not Flask: skip a failing lookup (~300 instructions)
            self.rule = getattr(environ["werkzeug.request"], "url_rule", None)
        else:
            self.rule = None
        start_response = self.start_response  # a slot read: called as a method, it is looked up
        return start_response(code, headers, exc_info)  # the slow way each time (84 instructions)

    def __iter__(self):
        return iter(self.inner)

    def close(self) -> None:
        """The server is done with the reply (or the app raised): the request ends here, once. A
        second close (a server or a middleware around ours closing twice) changes nothing: it
        neither closes the app's reply again nor moves the end, nor sends a second one."""
        if self.environ is None:
            return
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self.t_end = monotonic_ns()
            # What the reporter does not read: a request it keeps in flight holds no server's
            # reply, connection or environ. The environ goes last (assigned left to right): its
            # absence tells the reporter the request has ended.
            self.inner = self.start_response = self.environ = None
            if self.t_begin is None:  # its begin was dropped: its end comes in if there is room
                self.ids[2].recorder.add(self)

    def drained(self, keep: Keep) -> None:
        """The reporter's drain met the record: its `begin` (or, when its begin was dropped, its
        `end`). The request is numbered here, in the order the process began them, and its task
        is marked busy from its begin to its end for the stack sampler: neither costs the request
        path a thing. The task's earlier requests the server has closed are ended here, before
        this one takes their place (the drain then puts all it built in time order)."""
        task, ident, agent = self.ids
        number = self.number = next(agent.numbers)
        in_flight = agent.in_flight
        by_task = in_flight.by_task
        held = by_task.get(task)
        if held is not None:
            # `in_flight.settle`'s usual case, the task's one request before this one closed,
            # without its call and its dict reads (with them, the reporter's flush cost ~1.7k
            # instructions a request more around the minimal app).
            if type(held) is _Request and held.environ is None:
                try:
                    keep(held.end())
                except Exception:  # its status came from the app: no text
                    agent.recorder.lose()
                held = None
            else:
                in_flight.settle(task, keep)
                held = by_task.get(task)
        if self.t_begin is None:
            if held is None:  # the closed one this record's begin would have replaced
                by_task.pop(task, None)
            keep(self.end())
            return
        agent.busy[task] = ident
        keep(begin_event(task, self.t_begin, number, self.method, self.path, self.tag))
        if held is None:
            by_task[task] = self  # in the closed one's place
        else:  # the app called itself through the agent
            in_flight.begun(task, self)

    def end(self) -> tuple:
        """The request's `end` event (the server has closed it), its task no longer busy."""
        task, _, agent = self.ids
        agent.busy.pop(task, None)
        route = getattr(getattr(self, "rule", None), "rule", None)
        status = getattr(self, "status", "")
        return end_event(task, self.t_end, self.number, status[:3], route if type(route) is str else None)


class AgentMiddleware:
    """Wraps any WSGI app; each request becomes a `begin` and an `end` event."""

    def __init__(self, app: Callable, recorder: Recorder, registry: TaskRegistry) -> None:
        self.app = app
        self.recorder = recorder
        self.events, self.limit = recorder.events, recorder.limit
        self.registry = registry
        # Task id -> `threading.get_ident()` on the request's thread, for the stack sampler: the key
        # of an OS thread's frame in `sys._current_frames()` (under monkey patching a green id,
        # unused: the task registry reads a green thread's frame from the greenlet). Kept by the
        # reporter as it drains the requests' records (`_Request.drained`, `end`), read by its sampler.
        self.busy: dict[int, int] = {}
        self.numbers = itertools.count()  # a request's number in its process, given by the
        # reporter (a forked child's numbers follow on from its parent's: PID-N stays unique)
        # The requests whose begin the reporter has built and whose end it has not: their ends go
        # out after each drain (the recorder calls it), or before their task's next record.
        self.in_flight = InFlight(recorder.lose)
        recorder.ended = self.in_flight.ended
        self.server_seen = False  # the first request's environ tells what server runs us
        # `ids` of a task seen before: (task id, thread ident, this middleware), what a request
        # needs of its task and its agent in one slot store (a slot for the agent cost 87
        # instructions a request more)
        self._local = threading.local()

    def reset(self) -> None:
        """Forget every task (a forked child has only the thread that forked, with a new id)."""
        self.busy.clear()
        self.in_flight.clear()
        self._local = threading.local()

    def _first_sight(self, environ: dict[str, Any]) -> tuple[int, int, AgentMiddleware]:
        """A task's first request: register it (and note the server, on the process's first)."""
        if not self.server_seen:
            self.server_seen = True
            server.note_environ(environ)
        ids = self._local.ids = (self.registry.current(), get_ident(), self)
        return ids

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = _Request()
        try:
            request.ids = self._local.ids
        except AttributeError:
            request.ids = self._first_sight(environ)
        request.start_response = start_response
        request.environ = environ
        try:  # every server sets both (PEP 3333 lets an empty PATH_INFO be left out)
            request.method = environ["REQUEST_METHOD"]
            request.path = environ["PATH_INFO"]
        except KeyError:
            request.method = environ.get("REQUEST_METHOD", "")
            request.path = environ.get("PATH_INFO", "")
        request.tag = environ[TAG_ENVIRON] if TAG_ENVIRON in environ else ""
        request.t_begin = monotonic_ns()
        events = self.events  # Recorder.add, inlined
        waiting = len(events)
        if waiting < self.limit:
            events.append(request)
            if not waiting:
                self.recorder.notify()
        else:
            request.t_begin = None
            self.recorder.lose()
        app = self.app  # called as a method, an instance's attribute is looked up the slow way
        try:
            request.inner = app(environ, request.start)
        except BaseException:
            request.inner = ()
            request.close()
            raise
        return request


def served(middleware: AgentMiddleware) -> Callable:
    """What a server is handed to call: the middleware's bound `__call__`, not the middleware. A call
    of an instance goes through its class's call slot (CPython's `slot_tp_call`), which packs the
    arguments in a tuple and looks `__call__` up; a bound method is called directly: 665
    instructions a request less (valgrind, around a minimal app)."""
    return middleware.__call__


def is_agent(app: Any) -> bool:
    """Whether a WSGI app is the agent: its middleware, or the call `served` hands a server."""
    return isinstance(getattr(app, "__self__", app), AgentMiddleware)
