"""The agent for ASGI apps: each request is an asyncio task, recorded as `begin` and `end`.

The same recorder, registry and reporter as the WSGI agent; the reporter (a real OS thread) also
watches the event loop's heartbeat, to name a task that computes without awaiting. On the first
request, on the loop, it reads the pool of threads that runs the app's sync views (syncpool.py).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from threadpulse_agent import ENV_COLLECTOR, ENV_MODE, phases, probes, server, syncpool
from threadpulse_agent.hubwatch import LoopWatch
from threadpulse_agent.probes import QueueProbe
from threadpulse_agent.protocol import TAG_ASGI, begin_event, end_event, phase_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source, parse_collector
from threadpulse_agent.stacks import StackSampler
from threadpulse_agent.tasks import TaskRegistry

AsgiApp = Callable[[dict, Callable, Callable], Awaitable[None]]
REQUEST_TASK: ContextVar[int] = ContextVar("threadpulse_request_task")
_instrumented_pid = 0  # the process whose ASGI app an agent wraps (0: none yet)


def instrumented_here() -> bool:
    """Whether an ASGI agent already wraps an app in this process (one the user put in by hand)."""
    return _instrumented_pid == os.getpid()


def adopt_child_tasks(loop: asyncio.AbstractEventLoop, registry: TaskRegistry) -> None:
    """Give tasks a request spawns (Quart runs each view in a task of its own) the request's id.

    A task factory runs in its creator's context, where the middleware has set REQUEST_TASK.
    """
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task:
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        request = REQUEST_TASK.get(None)
        if request is not None:
            registry.adopt(request, task)
        return task

    loop.set_task_factory(factory)


class TaskPhases:
    """Says of each request's asyncio task whether it runs on the loop ("cpu") or is suspended in
    an await ("io"), as /proc says it of a thread: an app the agent was injected into declares no
    phases, and would show every request running. A reporter poller; a phase goes out when it
    changes, so a task that awaits all its life costs one event."""

    def __init__(self, busy: dict[int, int], watch: LoopWatch) -> None:
        self.busy = busy
        self.watch = watch
        self._said: dict[int, str] = {}

    def poll(self, now_ns: int) -> list[list]:
        loop = self.watch.loop
        if loop is None:
            return []
        current = getattr(asyncio.current_task(loop), "_threadpulse_id", None)
        said = {task: "cpu" if task == current else "io" for task in list(self.busy)}
        changed = [(task, phase) for task, phase in said.items() if self._said.get(task) != phase]
        self._said = said
        return [phase_event(task, now_ns, phase) for task, phase in changed]


class AsgiAgent:
    """Wraps any ASGI app; HTTP requests become `begin` and `end` events, others pass through."""

    def __init__(self, app: AsgiApp, recorder: Recorder, registry: TaskRegistry, watch: LoopWatch) -> None:
        self.app = app
        self.recorder = recorder
        self.registry = registry
        self.watch = watch
        # Task id -> 0 for the stack sampler: an asyncio task has no OS thread of its own to look
        # up, and the task registry reads its frame from the task.
        self.busy: dict[int, int] = {}
        self._numbers = itertools.count()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.watch.loop is None:
            loop = asyncio.get_running_loop()
            adopt_child_tasks(loop, self.registry)
            self.watch.attach()
            size, probes.queue_depth = syncpool.read(loop)
            server.note_pool(size)
        add = self.recorder.add
        task = self.registry.current_asyncio(asyncio.current_task())
        REQUEST_TASK.set(task)
        self.busy[task] = 0
        number = next(self._numbers)
        status = [""]
        tag = next((value for name, value in scope.get("headers", ()) if name == TAG_ASGI), b"")

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = str(message["status"])
            await send(message)

        add(
            begin_event(
                task, time.monotonic_ns(), number, scope.get("method", ""), scope.get("path", ""),
                tag.decode("latin-1"),
            )
        )  # fmt: skip
        try:
            await self.app(scope, receive, recording_send)
        finally:
            add(end_event(task, time.monotonic_ns(), number, status[0]))
            self.busy.pop(task, None)


def instrument_asgi(app: AsgiApp, mode: str | None = None) -> AsgiApp:
    """Wrap an ASGI app with the agent and start its reporter, if a collector is configured."""
    global _instrumented_pid
    url = os.environ.get(ENV_COLLECTOR)
    if not url:
        return app
    _instrumented_pid = os.getpid()
    recorder, registry, watch = Recorder(), TaskRegistry(), LoopWatch()
    agent = AsgiAgent(app, recorder, registry, watch)
    source = local_source(mode or os.environ.get(ENV_MODE, "unknown"), "worker")
    pollers = [watch.poll, TaskPhases(agent.busy, watch).poll, StackSampler(agent.busy, registry.frame).poll]
    pollers.append(QueueProbe().poll)  # the calls waiting for a thread of the sync views' pool
    busy = agent.busy
    address = parse_collector(url)
    Reporter(address, source, recorder, registry, pollers, lambda: bool(busy), shape=server.shape).start()

    def mark_phase(phase: str) -> None:
        current = asyncio.current_task()
        if current is not None:
            recorder.add(phase_event(registry.current_asyncio(current), time.monotonic_ns(), phase))

    phases.connect(mark_phase)
    return agent
