"""The ASGI agent in process: real ASGI apps (the workload's Quart app, tiny callables) driven through
scope, receive and send, their events carried over the real wire format into the model."""

from __future__ import annotations

import asyncio
import itertools
import os
import time

import pytest

from dashboard.model.live import Model
from dashboard.model.views import spans_view, state_view, task_detail
from threadpulse_agent.asgi import AsgiAgent, TaskPhases
from threadpulse_agent.hubwatch import LoopWatch
from threadpulse_agent.protocol import TAG_ASGI, Source, decode, encode, make_tag
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.stacks import StackSampler
from threadpulse_agent.tasks import TaskRegistry

SOURCE = Source("h", os.getpid(), "asyncio", "worker")


class Pipeline:
    """An ASGI app behind the agent, and the model its events reach through encode and decode."""

    def __init__(self, app) -> None:
        self.recorder, self.registry = Recorder(), TaskRegistry()
        self.agent = AsgiAgent(app, self.recorder, self.registry, LoopWatch())
        self.model = Model("h")
        self.model.set_server({"mode": "asyncio", "status": "serving", "capacity": None}, None)
        self._seqs = itertools.count()

    def fold(self) -> dict:
        """Send what the agent recorded, with its roster, as a reporter would; the state after."""
        now = time.monotonic_ns()
        data = encode(SOURCE, next(self._seqs), 0, now, self.recorder.drain(), self.registry.alive())
        self.model.apply(decode(data), now)
        return state_view(self.model, now)

    def span(self) -> dict:
        """The one finished request's timeline bar, by name."""
        ((_, key, start_ms, end_ms, sent_ms, path, status, _),) = spans_view(self.model, time.monotonic_ns())
        return {"start_ms": start_ms, "end_ms": end_ms, "path": path, "status": status}


def http_scope(path: str, query: bytes = b"", headers: tuple = ()) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app, scope: dict) -> list[dict]:
    """One request through `app`: the body arrives at once, the client leaves once answered."""
    sent: list[dict] = []
    answered = asyncio.Event()
    body = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if body:
            return body.pop()
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    await app(scope, receive, send)
    return sent


@pytest.fixture
def quart_app(monkeypatch):
    """The workload's Quart app, uninstrumented (no collector set): the test wraps it itself."""
    monkeypatch.delenv("THREADPULSE_COLLECTOR", raising=False)
    from workload.asgi import create_app

    return create_app().asgi_app


def test_a_quart_request_is_recorded_from_begin_to_end_with_its_status(quart_app):
    """Every request served becomes one bar on the timeline and one count, on an asyncio task."""
    pipeline = Pipeline(quart_app)
    sent = asyncio.run(call(pipeline.agent, http_scope("/hello")))
    assert sent[0]["status"] == 200
    state = pipeline.fold()
    (task,) = state["processes"][0]["tasks"]
    assert (task["kind"], task["state"], task["request"]) == ("asyncio", "idle", None)
    assert state["counters"]["done"] == 1 and state["counters"]["failed"] == 0
    span = pipeline.span()
    assert (span["path"], span["status"]) == ("/hello", "200")
    assert span["start_ms"] <= span["end_ms"]


def test_a_refused_request_is_counted_failed_with_the_status_the_app_sent(quart_app):
    """The status comes from `http.response.start` as the app sent it, not assumed 200."""
    pipeline = Pipeline(quart_app)
    sent = asyncio.run(call(pipeline.agent, http_scope("/io", b"ms=soon")))
    assert sent[0]["status"] == 400
    assert pipeline.fold()["counters"]["failed"] == 1
    assert pipeline.span()["status"] == "400"


def test_the_tag_header_ties_the_request_to_its_run_and_send_time(quart_app):
    """Queue wait = picked up − sent: the agent passes the load generator's tag on untouched."""
    pipeline = Pipeline(quart_app)
    pipeline.model.add_run("r1", "hello", 1, 0)
    sent_ns = time.monotonic_ns()
    asyncio.run(
        call(pipeline.agent, http_scope("/hello", headers=((TAG_ASGI, make_tag("r1", 0, sent_ns).encode()),)))
    )
    pipeline.fold()
    summary = pipeline.model.runs["r1"].summary(time.monotonic_ns())
    assert summary["sent"] == 1 and summary["peak_busy"] == 1
    assert summary["queue_wait_ms"]["max"] >= 0
    assert pipeline.span()["start_ms"] >= round(sent_ns / 1e6, 1)


def test_a_request_in_flight_is_running_busy_and_sampled_in_the_view_task_it_spawned():
    """Quart runs each view in a task of its own: that task stands for the request, so the stack
    sampler shows the view's code, not the middleware's await."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def view(send) -> None:
        entered.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def app(scope, receive, send) -> None:
        await asyncio.get_running_loop().create_task(view(send))

    pipeline = Pipeline(app)
    sampler = StackSampler(pipeline.agent.busy, pipeline.registry.frame)

    async def scenario() -> tuple[dict, dict]:
        request = asyncio.create_task(call(pipeline.agent, http_scope("/slow")))
        await entered.wait()
        for event in sampler.poll(time.monotonic_ns()):
            pipeline.recorder.add(event)
        during = pipeline.fold()
        process = pipeline.model.sources.local(SOURCE.pid)
        detail = task_detail(process, next(iter(process.tasks.values())), time.monotonic_ns())
        release.set()
        await request
        return during, detail

    during, detail = asyncio.run(scenario())
    (task,) = during["processes"][0]["tasks"]
    assert (task["state"], task["request"]["path"]) == ("running", "/slow")
    assert detail["stack"].startswith("view (test_asgi_agent.py:")
    assert pipeline.agent.busy == {}
    assert pipeline.fold()["counters"]["done"] == 1


def test_a_request_awaiting_is_waiting_and_the_one_the_loop_runs_is_running():
    """An app the agent was injected into declares no phases (issue 19): the agent tells the task
    suspended in an await (waiting) from the one on the loop (running), as /proc does for a thread,
    and says each only when it changes."""
    entered, release = asyncio.Event(), asyncio.Event()
    said: list[list] = []

    async def app(scope, receive, send) -> None:
        said.extend(phases.poll(time.monotonic_ns()))  # on the loop: this task is the one it runs
        entered.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    pipeline = Pipeline(app)
    phases = TaskPhases(pipeline.agent.busy, pipeline.agent.watch)

    async def scenario() -> list[tuple[list[str], str]]:
        request = asyncio.create_task(call(pipeline.agent, http_scope("/slow")))
        await entered.wait()
        seen = []
        for events in (list(said), phases.poll(time.monotonic_ns()), phases.poll(time.monotonic_ns())):
            for event in events:
                pipeline.recorder.add(event)
            (task,) = pipeline.fold()["processes"][0]["tasks"]
            seen.append(([event[3] for event in events], task["state"]))
        release.set()
        await request
        return seen

    assert asyncio.run(scenario()) == [(["cpu"], "running"), (["io"], "waiting"), ([], "waiting")]


def test_an_app_that_raises_still_ends_its_request_and_frees_the_task():
    """A request must never stay in service on the page after the app has given up on it."""

    async def app(scope, receive, send) -> None:
        raise RuntimeError("boom")

    pipeline = Pipeline(app)
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(call(pipeline.agent, http_scope("/boom")))
    state = pipeline.fold()
    assert state["counters"] == {"queued": 0, "in_service": 0, "done": 0, "failed": 1}
    assert state["processes"][0]["tasks"][0]["state"] == "idle"
    assert pipeline.span()["status"] == ""
    assert pipeline.agent.busy == {}


def test_lifespan_and_other_scopes_pass_through_unrecorded():
    """Only HTTP requests are requests: a server's start-up is no task on the page."""
    seen: list[str] = []

    async def app(scope, receive, send) -> None:
        seen.append(scope["type"])

    pipeline = Pipeline(app)
    asyncio.run(pipeline.agent({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
    assert pipeline.fold()["processes"][0]["tasks"] == []
