"""What the agent costs a server: the same gunicorn gthread workload with and without
THREADPULSE_COLLECTOR, driven alternately by wrk, round after round.

Targets: at most 2% fewer requests/s on /hello and 0.5% on /io?ms=10; the p99 latency ratio is
reported. The agent sends to a bound UDP port nobody reads, so the dashboard's own cost is not
counted here (the collector has its own benchmark).
"""

from __future__ import annotations

from bench.common import (
    Throughput,
    command_line,
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

ENDPOINTS = {"/hello": 2.0, "/io?ms=10": 0.5}  # path -> target: most req/s lost, in %
WORKERS, THREADS, CONNECTIONS = 1, 4, 8
SERVER_CPU, CLIENT_CPU = 0, 1


def measure(rounds: int, seconds: float) -> list[list[object]]:
    """One row per endpoint: medians of each variant and of the per-round ratios."""
    rows = []
    with (
        udp_sink() as sink,
        workload_server(WORKERS, THREADS, cpu=SERVER_CPU) as bare,
        workload_server(WORKERS, THREADS, collector=sink, cpu=SERVER_CPU) as agent,
    ):
        for path, target in ENDPOINTS.items():
            for url in (bare, agent):  # warm both: imports, first connections, thread pool
                drive(url + path, 1, CONNECTIONS, CLIENT_CPU)
            runs: dict[str, list[Throughput]] = interleaved(
                rounds,
                {
                    "bare": lambda url=bare + path: drive(url, seconds, CONNECTIONS, CLIENT_CPU),
                    "agent": lambda url=agent + path: drive(url, seconds, CONNECTIONS, CLIENT_CPU),
                },
            )
            pairs = list(zip(runs["bare"], runs["agent"], strict=True))
            loss = median([100 * (1 - a.rps / b.rps) for b, a in pairs])
            p99_ratio = median([a.p99_ms / b.p99_ms for b, a in pairs])
            errors = sum(t.errors for t in runs["bare"] + runs["agent"])
            rows.append(
                [
                    path,
                    median([t.rps for t in runs["bare"]]),
                    median([t.rps for t in runs["agent"]]),
                    f"{loss:+.2f}%",
                    f"≤ {target}%",
                    "met" if loss <= target else "NOT met",
                    median([t.p99_ms for t in runs["bare"]]),
                    median([t.p99_ms for t in runs["agent"]]),
                    f"{p99_ratio:.2f}",
                    errors,
                ]
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--seconds", type=float, default=3.0, help="length of each load run")
    args = p.parse_args(argv)
    rounds, seconds = (2, 1.0) if args.quick else (args.rounds, args.seconds)
    rows = measure(rounds, seconds)
    columns = [
        "endpoint",
        "req/s without agent",
        "req/s with agent",
        "req/s lost (median of rounds)",
        "target",
        "",
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
        "the per-round ratios. The agent reports to a UDP port nobody reads."
    )
    report(
        "agent_overhead",
        "Agent overhead",
        command_line("bench.agent_overhead", argv),
        body,
        write=not (args.quick or args.no_doc),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
