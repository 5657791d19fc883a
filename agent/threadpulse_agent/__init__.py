"""Threadpulse's agent: instrument any WSGI app so the dashboard can see its tasks and requests.

Enabled by `THREADPULSE_COLLECTOR=udp://HOST:PORT`; with it unset, `instrument` returns the app
unchanged. It depends on WSGI and the standard library alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from threadpulse_agent import phases, server
from threadpulse_agent.hubwatch import green_pollers
from threadpulse_agent.middleware import AgentMiddleware, served
from threadpulse_agent.probes import QueueProbe
from threadpulse_agent.protocol import phase_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source, parse_collector
from threadpulse_agent.stacks import StackSampler
from threadpulse_agent.tasks import TaskRegistry

ENV_COLLECTOR = "THREADPULSE_COLLECTOR"
ENV_MODE = "THREADPULSE_MODE"


def instrument(app: Callable, mode: str | None = None) -> Callable:
    """Wrap a WSGI app with the agent and start its reporter, if a collector is configured."""
    url = os.environ.get(ENV_COLLECTOR)
    if not url:
        return app
    address = parse_collector(url)
    recorder = Recorder()
    registry = TaskRegistry()
    middleware = AgentMiddleware(app, recorder, registry)
    source_mode = mode or os.environ.get(ENV_MODE, "unknown")

    def start_reporter() -> None:
        # A reporter per process: after a fork the child gets a fresh buffer and its own thread.
        recorder.reset()
        registry.reset()
        middleware.reset()
        pollers = [StackSampler(middleware.busy, registry.frame).poll, QueueProbe().poll]
        pollers += green_pollers(registry)
        source = local_source(source_mode, "worker")
        busy = middleware.busy
        Reporter(address, source, recorder, registry, pollers, lambda: bool(busy), shape=server.shape).start()

    def mark_phase(phase: str) -> None:
        recorder.add(phase_event(registry.current(), time.monotonic_ns(), phase))

    phases.connect(mark_phase)

    start_reporter()
    os.register_at_fork(after_in_child=start_reporter)
    return served(middleware)
