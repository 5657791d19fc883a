"""The WSGI middleware's record of a request, built into events by the reporter (issue 22: the
request's number, its texts and its task's busy mark made off the request path)."""

from __future__ import annotations

import contextlib
import gc
import threading
import types
import weakref
from functools import partial

from tests.support import udp_listener, wait_for
from threadpulse_agent.inflight import MAX_NESTED
from threadpulse_agent.middleware import AgentMiddleware, is_agent, served
from threadpulse_agent.protocol import Begin, End, Phase, Stack, decode, decode_event, phase_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source
from threadpulse_agent.stacks import StackSampler
from threadpulse_agent.tasks import TaskRegistry


class Reply:
    """A reply the server must close, which a test can watch being freed."""

    def __iter__(self):
        return iter([b"ok"])

    def close(self) -> None:
        """Nothing to release: the middleware calls it as a server's close does."""


def ok(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def serve(middleware: AgentMiddleware, path: str = "/x") -> None:
    """One request as a server makes it: called, iterated, closed."""
    body = middleware({"REQUEST_METHOD": "GET", "PATH_INFO": path}, lambda *args: None)
    list(body)
    body.close()


def events_of(recorder: Recorder) -> list:
    return [decode_event(list(event)) for event in recorder.drain()]


def test_a_server_is_handed_the_middlewares_bound_call_and_it_is_still_known_for_the_agent():
    """Issue 22: a server calling the middleware instance went through type's call slot, which
    packs the arguments in a tuple and looks `__call__` up (665 instructions a request); the bound
    call it is handed now is called directly. Injection still tells it for the agent, so an app
    instrumented by hand is not wrapped a second time (two agents counted each request twice)."""
    recorder = Recorder()
    middleware = AgentMiddleware(ok, recorder, TaskRegistry())
    call = served(middleware)
    assert type(call) is types.MethodType and call.__self__ is middleware
    assert is_agent(call) and is_agent(middleware)
    assert not is_agent(ok) and not is_agent(partial(middleware)) and not is_agent(None)
    serve(call)
    assert [type(event) for event in events_of(recorder)] == [Begin, End]


def test_a_request_whose_begin_was_dropped_still_ends_under_a_number_of_its_own():
    """The reporter numbers requests as it drains them and matches an end to its own begin, not to
    its task's last one: a begin dropped by a full buffer leaves its end a number no begin has,
    and the next request on the same task is numbered and matched afresh."""
    recorder = Recorder(limit=2)
    middleware = AgentMiddleware(ok, recorder, TaskRegistry())
    recorder.add(("queue", 1, 0))
    recorder.add(("queue", 2, 0))  # the buffer is full: the first request's begin is dropped
    body = middleware({"REQUEST_METHOD": "GET", "PATH_INFO": "/dropped"}, lambda *args: None)
    assert recorder.dropped == 1
    recorder.drain()  # room again for its end
    list(body)
    body.close()
    (lone_end,) = events_of(recorder)
    serve(middleware, "/next")
    begin, end = events_of(recorder)
    assert isinstance(lone_end, End) and lone_end.status == "200"
    assert isinstance(begin, Begin) and begin.path == "/next" and isinstance(end, End)
    assert end.request == begin.request != lone_end.request
    assert recorder.dropped == 1


def test_a_request_whose_begin_came_in_always_gets_its_end_and_the_buffer_stays_bounded():
    """A request is appended once, at its begin (issue 22: its end's append cost the request path
    ~450 instructions); the reporter builds its end from the record it keeps. A full buffer no
    longer leaves a task shown busy for want of its end, and the buffer holds at most its limit."""
    recorder = Recorder(limit=2)
    middleware = AgentMiddleware(ok, recorder, TaskRegistry())
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}
    in_flight = [middleware(dict(environ), lambda *args: None) for _ in range(3)]  # the third's begin
    assert recorder.dropped == 1  # found the buffer full
    for body in in_flight:
        body.close()
    assert len(recorder.events) == 2  # the limit: the two begins, no end appended
    assert recorder.dropped == 2  # the third's end: its begin was dropped and there is no room
    events = events_of(recorder)
    assert [type(event) for event in events] == [Begin, Begin, End, End]  # in the order they happened
    assert [event.request for event in events] == [0, 1, 0, 1]
    assert events_of(recorder) == []  # each end once


def test_a_reply_closed_twice_closes_the_apps_once_and_ends_once():
    """PEP 3333 has a server close the reply once; one that closes it twice (or a middleware
    around ours that closes it too) closed the app's reply twice and, for a request whose begin a
    full buffer had dropped, sent a second end."""
    closes = []

    class Counted(Reply):
        def close(self) -> None:
            closes.append(1)

    def app(environ: dict, start_response) -> Counted:
        start_response("200 OK", [])
        return Counted()

    recorder = Recorder(limit=1)
    middleware = AgentMiddleware(app, recorder, TaskRegistry())
    recorder.add(("queue", 1, 0))  # full: this request's begin is dropped
    body = middleware({"REQUEST_METHOD": "GET", "PATH_INFO": "/twice"}, lambda *args: None)
    recorder.drain()  # room again for its end
    list(body)
    body.close()
    ended = body.t_end
    body.close()
    assert closes == [1] and body.t_end == ended
    assert [type(event) for event in events_of(recorder)] == [End]
    serve(middleware, "/next")
    assert [type(event) for event in events_of(recorder)] == [Begin, End]


def test_an_end_comes_before_the_begins_of_other_tasks_that_came_after_it():
    """A drain sends the ends it finds after what it took from the buffer: a request that ended
    before another task's began must still come first, or the dashboard counts both in service at
    once (CI: a closed loop of 3 connections on 4 threads peaked at 4). The drain's events go out
    in the order they happened."""
    recorder = Recorder()
    middleware = AgentMiddleware(ok, recorder, TaskRegistry())
    first = middleware({"REQUEST_METHOD": "GET", "PATH_INFO": "/first"}, lambda *args: None)
    assert [type(event) for event in events_of(recorder)] == [Begin]  # in flight
    list(first)
    first.close()
    other = threading.Thread(target=serve, args=(middleware, "/other"))  # another task
    other.start()
    other.join()
    events = events_of(recorder)
    assert [(type(event), event.t_ns) for event in events] == sorted(
        ((type(event), event.t_ns) for event in events), key=lambda pair: pair[1]
    )
    assert [type(event) for event in events] == [End, Begin, End]
    assert events[0].t_ns == first.t_end


def test_an_end_seen_after_its_begin_went_out_comes_once_in_its_tasks_order():
    """The end of a request whose begin was sent while it ran comes from the drain that finds it
    closed, once; it follows every event its task buffered before it ended (a phase), and comes
    before the task's next begin even when that begin is in the same drain."""
    recorder = Recorder()
    middleware = AgentMiddleware(ok, recorder, TaskRegistry())
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/first"}
    first = middleware(dict(environ), lambda *args: None)
    (begin,) = events_of(recorder)
    assert events_of(recorder) == []  # in flight: nothing to send
    task = begin.task
    recorder.add(phase_event(task, 1, "cpu"))
    list(first)
    first.close()
    phase, end = events_of(recorder)
    assert (type(phase), type(end), end.request, end.status) == (Phase, End, begin.request, "200")
    assert events_of(recorder) == []  # once

    second = middleware(dict(environ, PATH_INFO="/second"), lambda *args: None)
    (second_begin,) = events_of(recorder)
    second.close()
    serve(middleware, "/third")  # closed before the drain: its record and the second's end wait
    events = events_of(recorder)
    assert [(type(e), e.request) for e in events] == [
        (End, second_begin.request), (Begin, second_begin.request + 1), (End, second_begin.request + 1)
    ]  # fmt: skip


def test_a_request_the_app_makes_through_the_agent_inside_another_ends_first():
    """An app may call itself through the agent (a test client inside a view): both requests run
    on one task at once, and each gets its own end, the inner one's first."""
    recorder = Recorder()
    calls: list[str] = []

    def app(environ: dict, start_response) -> list[bytes]:
        calls.append(environ["PATH_INFO"])
        if environ["PATH_INFO"] == "/outer":
            serve(middleware, "/inner")
        start_response("200 OK", [])
        return [b"ok"]

    middleware = AgentMiddleware(app, recorder, TaskRegistry())
    outer = middleware({"REQUEST_METHOD": "GET", "PATH_INFO": "/outer"}, lambda *args: None)
    assert calls == ["/outer", "/inner"]
    outer_begin, inner_begin, inner_end = events_of(recorder)
    assert (outer_begin.path, inner_begin.path) == ("/outer", "/inner")
    assert inner_end.request == inner_begin.request
    outer.close()
    (outer_end,) = events_of(recorder)
    assert outer_end.request == outer_begin.request
    assert not middleware.in_flight.by_task and not middleware.busy


def test_requests_never_closed_are_not_kept_beyond_a_bound():
    """A server (or a middleware around ours) that never closes its replies breaks PEP 3333, and
    their requests never end: the reporter keeps at most MAX_NESTED of them a task, not one a
    request, and counts no event lost for them (they never had an end to lose)."""
    recorder = Recorder()
    middleware = AgentMiddleware(ok, recorder, TaskRegistry())
    for _ in range(3 * MAX_NESTED):
        middleware({"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}, lambda *args: None)
        assert [type(event) for event in events_of(recorder)] == [Begin]
    (kept,) = middleware.in_flight.by_task.values()
    assert len(kept) == MAX_NESTED and recorder.dropped == 0


def test_a_closed_request_waiting_in_the_buffer_holds_neither_its_reply_nor_its_environ():
    """The request's record waits in the buffer until the reporter drains it (up to the buffer's
    limit of them when the reporter is held up): it keeps its figures, not the app's reply, the
    environ or the server's start_response, so the agent's memory stays that of the figures."""
    replies, environ = [Reply()], {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}
    freed = weakref.ref(replies[0])
    recorder = Recorder()
    middleware = AgentMiddleware(lambda environ, start_response: replies.pop(), recorder, TaskRegistry())
    body = middleware(environ, lambda *args: None)
    list(body)
    body.close()
    del body
    gone = [environ]  # a dict cannot be weakly referenced: look for it among what the buffer holds
    del environ
    gc.collect()
    assert freed() is None
    assert not any(referent is gone[0] for entry in recorder.events for referent in gc.get_referents(entry))
    begin, end = events_of(recorder)
    assert (begin.path, end.request) == ("/x", begin.request)


def parked_app(release: threading.Event):
    def app(environ: dict, start_response) -> list[bytes]:
        release.wait(30)
        start_response("200 OK", [])
        return [b"ok"]

    return app


def test_a_requests_first_flush_carries_its_tasks_stack_and_its_end_clears_the_busy_task():
    """The busy tasks the stack sampler reads are kept by the reporter as it drains requests, so
    it drains before it polls: the flush that carries a request's begin samples its task at once,
    as when the request path kept them, and the sampler stops with the request's end. The end,
    which the request path no longer appends, goes out once from the reporter's own ticks."""
    release = threading.Event()
    recorder, registry = Recorder(), TaskRegistry()
    middleware = AgentMiddleware(parked_app(release), recorder, registry)
    sampler = StackSampler(middleware.busy, registry.frame)
    busy = middleware.busy
    with udp_listener(10) as collector:
        reporter = Reporter(
            collector.getsockname(), local_source("test", "worker"), recorder, registry,
            [sampler.poll], lambda: bool(busy),
        )  # fmt: skip
        reporter.start()
        request = threading.Thread(target=serve, args=(middleware,))
        try:
            request.start()  # its task is new: no leading edge, the roster goes with its begin
            flushes: list[tuple] = []
            while not any(isinstance(event, Begin) for event in flushes[-1:] and flushes[-1]):
                flushes.append(decode(collector.recv(65_535)).events)
            (begin,) = [event for event in flushes[-1] if isinstance(event, Begin)]
            assert [event.task for event in flushes[-1] if isinstance(event, Stack)] == [begin.task]
        finally:
            release.set()
            request.join()
        wait_for(lambda: not busy, what="the end drained")
        reporter.stop()
        later: list[tuple] = []
        collector.settimeout(0.5)
        with contextlib.suppress(TimeoutError):
            while True:
                later += decode(collector.recv(65_535)).events
    assert [event.request for event in later if isinstance(event, End)] == [begin.request]
