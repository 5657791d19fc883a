"""What the agent costs a server: the same gunicorn gthread workload with and without
THREADPULSE_COLLECTOR, driven alternately by wrk, round after round.

Targets: at most 2% fewer requests/s on /hello and 0.5% on /io?ms=10; the p99 latency ratio is
reported. The agent sends to a bound UDP port nobody reads, so the dashboard's own cost is not
counted here (the collector has its own benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.common import (
    Server,
    Throughput,
    drive,
    interleaved,
    load_tool,
    median,
    parser,
    report,
    table,
    udp_sink,
    workload_server,
)
from bench.in_process import CALLS_PER_FLUSH, minimal_app, path_cost
from workload import create_app

ENDPOINTS = {"/hello": 2.0, "/io?ms=10": 0.5}  # path -> target: most req/s lost, in %
WORKERS, THREADS, CONNECTIONS = 1, 4, 8
IN_PROCESS_COLUMNS = ["app", "CPU µs per call bare", "with the agent", "the agent adds µs", "target", ""]
TARGET_IN_PROCESS_US = 2.0
SERVER_CPU, CLIENT_CPU = 0, 1


@dataclass(frozen=True)
class Run:
    load: Throughput
    cpu_us: float  # the server's CPU time per request served


def timed(server: Server, path: str, seconds: float) -> Run:
    """One load run, with what the server's whole tree spent on a core per request."""
    before = server.cpu_ns()
    load = drive(server.url + path, seconds, CONNECTIONS, CLIENT_CPU)
    served = load.rps * seconds
    return Run(load, (server.cpu_ns() - before) / 1e3 / served if served else math.nan)


def measure(rounds: int, seconds: float) -> list[list[object]]:
    """One row per endpoint: medians of each variant and of the per-round ratios."""
    rows = []
    with (
        udp_sink() as sink,
        workload_server(WORKERS, THREADS, cpu=SERVER_CPU) as bare,
        workload_server(WORKERS, THREADS, collector=sink, cpu=SERVER_CPU) as agent,
    ):
        for path, target in ENDPOINTS.items():
            for server in (bare, agent):  # warm both: imports, first connections, thread pool
                drive(server.url + path, 1, CONNECTIONS, CLIENT_CPU)
            runs: dict[str, list[Run]] = interleaved(
                rounds,
                {
                    "bare": lambda path=path: timed(bare, path, seconds),
                    "agent": lambda path=path: timed(agent, path, seconds),
                },
            )
            pairs = list(zip(runs["bare"], runs["agent"], strict=True))
            loss = median([100 * (1 - a.load.rps / b.load.rps) for b, a in pairs])
            cpu = median([100 * (a.cpu_us / b.cpu_us - 1) for b, a in pairs])
            rows.append(
                [
                    path,
                    median([r.load.rps for r in runs["bare"]]),
                    median([r.load.rps for r in runs["agent"]]),
                    f"{loss:+.2f}%",
                    f"≤ {target}%",
                    "met" if loss <= target else "NOT met",
                    median([r.cpu_us for r in runs["bare"]]),
                    median([r.cpu_us for r in runs["agent"]]),
                    f"{cpu:+.1f}%",
                    median([r.load.p99_ms for r in runs["bare"]]),
                    median([r.load.p99_ms for r in runs["agent"]]),
                    f"{median([a.load.p99_ms / b.load.p99_ms for b, a in pairs]):.2f}",
                    sum(r.load.errors for r in runs["bare"] + runs["agent"]),
                ]
            )
    return rows


def in_process(rounds: int) -> tuple[list[list[object]], float]:
    """The middleware's own cost per request (bench/in_process.py): rows for Flask's /hello and
    for a minimal app; and what the reporter spends on an event (encoding and sending)."""
    rows, flush_us = [], []
    for name, bare in (("Flask /hello", create_app().wsgi_app), ("minimal WSGI app", minimal_app)):
        cost = path_cost(bare, "/hello", rounds)
        flush_us.append(cost.flush_us)
        verdict = "met" if cost.extra_us <= TARGET_IN_PROCESS_US else "NOT met"
        rows.append(
            [name, cost.bare_us, cost.agent_us, cost.extra_us, f"≤ {TARGET_IN_PROCESS_US:g}", verdict]
        )
    return rows, median(flush_us)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=11)
    p.add_argument("--seconds", type=float, default=2.0, help="length of each load run")
    args = p.parse_args(argv)
    rounds, seconds = (2, 1.0) if args.quick else (args.rounds, args.seconds)
    rows = measure(rounds, seconds)
    in_rounds = 5 if args.quick else 201
    wsgi, flush_us = in_process(in_rounds)
    columns = [
        "endpoint",
        "req/s without agent",
        "req/s with agent",
        "req/s lost (median of rounds)",
        "target",
        "",
        "server CPU µs/req without",
        "with",
        "CPU per request",
        "p99 ms without",
        "p99 ms with",
        "p99 ratio",
        "errors",
    ]
    body = (
        f"{table(columns, rows)}\n\n"
        f"gunicorn gthread {WORKERS} worker × {THREADS} threads pinned to core {SERVER_CPU}; "
        f"{load_tool()} with {CONNECTIONS} keep-alive connections pinned to core {CLIENT_CPU}; "
        f"{rounds} rounds of {seconds:g} s per variant, interleaved ABBA; the loss is the median of "
        "the per-round ratios. Server CPU per request is the whole gunicorn tree's time on a core "
        "(schedstat) over the requests served: the agent's cost apart from how much of the core "
        "the machine's other tenants left the server. The agent reports to a UDP port nobody reads. "
        "A negative loss is a round where the server with the agent served more: noise.\n\n"
        "The middleware alone, in process (no sockets, no server): the app called bare and wrapped, "
        f"{CALLS_PER_FLUSH} calls at a time (what the reporter drains a flush at ~4,000 req/s), "
        f"interleaved ABBA over {in_rounds} rounds; this thread's CPU time (not the wall clock, which "
        "also counts other tenants' turns on the core); medians of the per-round differences:\n\n"
        f"{table(IN_PROCESS_COLUMNS, wsgi)}\n\n"
        "Set against the server CPU per `/hello` above, that is the agent's share of a request on the "
        "request path. The reporter thread's flush (encoding and sending) comes on top, off the "
        f"request path but on the same core: {flush_us:.2f} µs an event, two events a request."
    )
    report("agent_overhead", "Agent overhead", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
