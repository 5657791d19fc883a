"""Whether the project's load generator can ever be the bottleneck: its sustained mode against
wrk on /hello, the same server, alternately, server and client each on one core.

Target: at least 0.95 of wrk's requests/s. The generator reports its events (to a UDP port
nobody reads) as it does for the dashboard, so its whole cost is counted.
"""

from __future__ import annotations

from bench.common import (
    interleaved,
    median,
    parser,
    report,
    run_sustained,
    run_wrk,
    table,
    udp_sink,
    workload_server,
    wrk_available,
)

TARGET = 0.95
WORKERS, THREADS, CONNECTIONS = 1, 4, 8
SERVER_CPU, CLIENT_CPU = 0, 1
PATH = "/hello"


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=11)
    p.add_argument("--seconds", type=float, default=2.0, help="length of each load run")
    args = p.parse_args(argv)
    if not wrk_available():
        p.error("wrk is not installed: apt-get install -y wrk")
    rounds, seconds = (2, 1.0) if args.quick else (args.rounds, args.seconds)
    with udp_sink() as sink, workload_server(WORKERS, THREADS, cpu=SERVER_CPU) as server:
        url = server.url + PATH
        run_wrk(url, 1, CONNECTIONS, CLIENT_CPU)  # warm the server
        runs = interleaved(
            rounds,
            {
                "wrk": lambda: run_wrk(url, seconds, CONNECTIONS, CLIENT_CPU),
                "sustained": lambda: run_sustained(url, seconds, CONNECTIONS, CLIENT_CPU, collector=sink),
            },
        )
    ratio = median([s.rps / w.rps for w, s in zip(runs["wrk"], runs["sustained"], strict=True)])
    rows = [
        [
            name,
            median([t.rps for t in results]),
            median([t.p50_ms for t in results]),
            median([t.p99_ms for t in results]),
            f"{median([t.client_cpu for t in results]) * 100:.0f}%",
            sum(t.errors for t in results),
        ]
        for name, results in (("wrk -t1", runs["wrk"]), ("dashboard.loadgen.sustained", runs["sustained"]))
    ]
    verdict = "met" if ratio >= TARGET else "NOT met"
    body = (
        f"{table(['generator', 'req/s', 'p50 ms', 'p99 ms', 'client core used', 'errors'], rows)}\n\n"
        f"**Generator / wrk: {ratio:.3f}** (median of per-round ratios; target ≥ {TARGET}: {verdict}).\n\n"
        f"`{PATH}` on gunicorn gthread {WORKERS} × {THREADS} pinned to core {SERVER_CPU}; each generator "
        f"with {CONNECTIONS} keep-alive connections pinned to core {CLIENT_CPU}; {rounds} rounds of "
        f'{seconds:g} s each, interleaved ABBA. The workload\'s agent is off. "Client core used" is the '
        "generator's CPU time over the run: well below 100%, it was waiting for the server."
    )
    report("loadgen_ceiling", "Load generator ceiling", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
