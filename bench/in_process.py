"""The agent's cost per request measured in process, without sockets, servers or their noise:
an app called bare and wrapped in the middleware, interleaved round by round, and what the
reporter spends turning the events into datagrams and sending them. This thread's CPU time, not
the wall clock, which on a shared machine also counts the time other tenants had the core."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.test import EnvironBuilder

from threadpulse_agent.middleware import AgentMiddleware
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source
from threadpulse_agent.tasks import TaskRegistry

CALLS_PER_FLUSH = 200  # what the reporter drains at a time at ~4,000 req/s, 20 flushes a second
EVENTS_PER_REQUEST = 2  # begin and end


@dataclass(frozen=True)
class PathCost:
    """CPU µs per request: bare, wrapped, their difference (medians over rounds), and what the
    reporter's flush (encoding and sendto) costs per event."""

    bare_us: float
    agent_us: float
    extra_us: float
    flush_us: float


def wsgi_call_us(app: Callable, path: str, calls: int) -> float:
    """CPU µs per in-process WSGI call of `path`, the whole reply iterated and closed as a server
    does."""
    environ = EnvironBuilder(path=path).get_environ()
    started = time.thread_time_ns()
    for _ in range(calls):
        body = app(dict(environ), lambda status, headers, exc_info=None: None)
        for _ in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.thread_time_ns() - started) / calls / 1e3


def minimal_app(environ: dict, start_response: Callable) -> list[bytes]:
    """The least a WSGI app can do: what the agent costs apart from the app's own code."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def path_cost(bare: Callable, path: str, rounds: int) -> PathCost:
    """`bare` and the same app in the middleware, CALLS_PER_FLUSH calls at a time, interleaved
    (ABBA); after each wrapped batch a real reporter flushes the events to a UDP port nobody
    reads, as it would 20 times a second (its wake-up set as in a server)."""
    # Imported here: bench.instructions runs this module's calls under valgrind, without the dashboard
    from bench.common import HOST, interleaved, median

    recorder = Recorder()
    recorder.notify = threading.Event().set
    wrapped = AgentMiddleware(bare, recorder, TaskRegistry())
    flush_us: list[float] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind((HOST, 0))
        reporter = Reporter(sink.getsockname(), local_source("bench", "worker"), recorder)

        def agent() -> float:
            cost = wsgi_call_us(wrapped, path, CALLS_PER_FLUSH)
            events = recorder.waiting()
            started = time.thread_time_ns()
            reporter.flush()
            flush_us.append((time.thread_time_ns() - started) / events / 1e3)
            return cost

        runs = interleaved(
            rounds, {"bare": lambda: wsgi_call_us(bare, path, CALLS_PER_FLUSH), "agent": agent}
        )
    extra = median([a - b for b, a in zip(runs["bare"], runs["agent"], strict=True)])
    return PathCost(median(runs["bare"]), median(runs["agent"]), extra, median(flush_us))
