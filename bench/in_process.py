"""The agent's cost per request measured in process, without sockets, servers or their noise:
an app called bare and wrapped in the middleware, interleaved round by round, and what the
reporter spends turning the events into datagrams and sending them. This thread's CPU time, not
the wall clock, which on a shared machine also counts the time other tenants had the core.

Run as `python -m bench.in_process [--against DIR]`: the ratio around Flask's `/hello` (issue
22's target: at most 1.04) and the µs around a minimal app, each agent in child processes
alternated, this checkout's and, with `--against`, another checkout's (e.g. main's).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from werkzeug.test import EnvironBuilder

from threadpulse_agent import middleware
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
    ratio: float  # wrapped over bare, the median of the rounds' ratios


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


def wrapped_in_agent(app: Callable, recorder: Recorder) -> Callable:
    """The app in the agent's middleware as `instrument` hands it to a server: its bound call
    (`middleware.served`), or, for an agent of before that (`--against` an older checkout), the
    middleware itself."""
    agent = middleware.AgentMiddleware(app, recorder, TaskRegistry())
    return middleware.served(agent) if hasattr(middleware, "served") else agent


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
    wrapped = wrapped_in_agent(bare, recorder)
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
    pairs = list(zip(runs["bare"], runs["agent"], strict=True))
    extra, ratio = median([a - b for b, a in pairs]), median([a / b for b, a in pairs])
    return PathCost(median(runs["bare"]), median(runs["agent"]), extra, median(flush_us), ratio)


TARGET_RATIO = 1.04
COLUMNS = [
    "agent",
    "Flask /hello µs bare",
    "with the agent",
    "ratio",
    "target",
    "",
    "minimal app: the agent adds µs",
]


def _child(rounds: int) -> None:
    """Print this process's figures as JSON: Flask's /hello, then the minimal app."""
    from workload import create_app

    flask, minimal = (
        path_cost(create_app().wsgi_app, "/hello", rounds),
        path_cost(minimal_app, "/hello", rounds),
    )
    print(json.dumps([flask.bare_us, flask.agent_us, flask.ratio, minimal.extra_us]))


def _run_child(rounds: int, against: Path | None) -> list[float]:
    """One child's figures; with `against`, that checkout's agent ahead of this one's on its path."""
    env = dict(os.environ)
    if against is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(against / "agent"), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    out = subprocess.run(
        [sys.executable, "-m", "bench.in_process", "--child", str(rounds)],
        capture_output=True, text=True, env=env, check=True, timeout=1800,
    )  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--child"]:
        _child(int(args_in[1]))
        return 0
    from bench.common import median, no_agent_in, parser, report, table

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=101, help="rounds of each app in each child")
    p.add_argument("--runs", type=int, default=2, help="child processes per agent, alternated")
    p.add_argument("--against", type=Path, metavar="DIR", help="also time the agent of the checkout in DIR")
    args = p.parse_args(args_in)
    if no_agent_in(args.against):
        return 2
    rounds, runs = (3, 1) if args.quick else (args.rounds, args.runs)
    agents: list[Path | None] = [None, args.against] if args.against is not None else [None]
    load_before = os.getloadavg()[0]
    figures: dict[Path | None, list[list[float]]] = {agent: [] for agent in agents}
    for _ in range(runs):
        for agent in agents:
            figures[agent].append(_run_child(rounds, agent))
    rows = []
    for agent, found in figures.items():
        bare, wrapped, ratio, minimal = (median([f[i] for f in found]) for i in range(4))
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        name = f"{agent.name}'s" if agent else "this checkout's"
        rows.append([name, bare, wrapped, f"{ratio:.3f}", f"≤ {TARGET_RATIO}", verdict, minimal])
    body = (
        f"{table(COLUMNS, rows)}\n\n"
        f"Each agent in {runs} child process(es), alternated; in each, {rounds} rounds of "
        f"{CALLS_PER_FLUSH} in-process calls an app, bare and wrapped interleaved ABBA, this thread's CPU "
        "time, a reporter's flush between wrapped batches (untimed, on this thread: no reporter thread "
        "runs). The ratio is the median of the rounds' ratios, then of the children's. Load average "
        f"(1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"(nproc {os.cpu_count()})."
    )
    report("in_process", "Agent request path, timed in process", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
