"""What the page says each busy thread gets of a core, in the three cases that teach the GIL.

A real dashboard runs each case on its own server: 4 × `/cpu` on gunicorn gthread 1 × 4 (four
threads, one GIL: about a quarter of a core each, starved the rest), 2 × `/cpu` on gunicorn sync
with 2 workers (two processes, two GILs: most of a core each) and 2 × `/cpu-native` on gthread
1 × 2 (C code that releases the GIL: two threads on two cores), and the first case again on the
free-threaded build (`make free-threaded`, issue 20: no GIL, four threads on the cores there are),
each with the burst's makespan. The shares are the dashboard's
own `cpu_pct` (percent of one core over the last second, from /proc), read once a second while
every request of the case is in service, and the time the tasks spent starved comes from their
state history. Figures, not targets: the tests hold the same laws with generous bounds.
"""

from __future__ import annotations

import time

from bench.common import median, parser, report, table
from tests.support import Dashboard, wait_for

# name, mode, parameters (and the interpreter, run.py --python), endpoint, requests
CASES = (
    ("4 threads, one GIL", "gunicorn-gthread", {"workers": 1, "threads": 4}, "cpu", 4),
    ("2 processes, two GILs", "gunicorn-sync", {"workers": 2}, "cpu", 2),
    ("2 threads in C, GIL released", "gunicorn-gthread", {"workers": 1, "threads": 2}, "cpu-native", 2),
    (
        "4 threads, no GIL (free-threaded)",
        "gunicorn-gthread",
        {"workers": 1, "threads": 4, "python": "free-threaded"},
        "cpu",
        4,
    ),
)
REQUEST_MS = 4000  # of CPU per request (1,500 in the smoke variant)
WARM_MS = 1200  # a full CPU window after the last request started


def busy(state: dict) -> list[tuple[int, dict]]:
    return [(p["pid"], t) for p in state["processes"] for t in p["tasks"] if t["request"] is not None]


def measure(dash: Dashboard, case: tuple, windows: int, request_ms: int) -> dict:
    _, mode, params, endpoint, count = case
    reply = dash.post("/api/server", {"mode": mode, **params})
    reply.raise_for_status()
    dash.wait_processes(params.get("workers", 1), 20)
    run = dash.fire(endpoint, count, request_ms)

    def in_service_since(ms: float) -> dict | None:
        state = dash.get("/api/state").json()
        tasks = busy(state)
        ready = len(tasks) == count and min(t["request"]["age_ms"] for _, t in tasks) >= ms
        return state if ready else None

    shares: list[list[float]] = []
    totals: list[float] = []
    sampling: list[float] = []
    for n in range(windows):
        state = wait_for(lambda n=n: in_service_since(WARM_MS + 1000 * n), 20, what=f"{count} × {endpoint}")
        shares.append(sorted(t["cpu_pct"] for _, t in busy(state)))
        alive = [p for p in state["processes"] if p["status"] == "alive"]
        totals.append(sum(p["cpu_pct"] for p in alive))
        sampling += [p["sampling_cost_pct"] for p in alive if p["sampling_cost_pct"] is not None]
    tasks = busy(state)
    makespan = dash.wait_run(run, timeout=120)["makespan_ms"]
    starved, on_gil = [], []
    for pid, task in tasks:
        spent = dash.get(f"/api/tasks/{pid}/{task['id']}").json()["state_ms"]
        in_request = sum(ms for state, ms in spent.items() if state != "idle")
        starved.append(sum(ms for state, ms in spent.items() if state.startswith("starved")) / in_request)
        on_gil.append(spent.get("starved:gil", 0.0) / in_request)
    return {
        "makespan": makespan,
        "on_gil": median(on_gil),
        "shares": [median([w[i] for w in shares]) for i in range(count)],
        "total": median(totals),
        "starved": median(starved),
        "sampling": max(sampling, default=float("nan")),
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--windows", type=int, default=3, help="1 s readings per case")
    args = p.parse_args(argv)
    windows, request_ms = (1, 1500) if args.quick else (args.windows, REQUEST_MS)
    started = time.monotonic()
    dash = Dashboard("--workers", "1", "--threads", "4")
    try:
        dash.wait_serving()
        rows = []
        for case in CASES:
            name, mode, params, endpoint, count = case
            result = measure(dash, case, windows, request_ms)
            rows.append(
                [
                    name,
                    f"{count} × /{endpoint} on {mode} {', '.join(f'{k} {v}' for k, v in params.items())}",
                    " / ".join(f"{share:.0f}%" for share in result["shares"]),
                    f"{result['total']:.0f}%",
                    f"{result['starved'] * 100:.0f}%",
                    f"{result['on_gil'] * 100:.0f}%",
                    f"{result['makespan'] / 1000:.1f} s",
                    f"{result['sampling']:.3f}%",
                ]
            )
    finally:
        dash.stop_leaving_nothing()
    columns = [
        "case",
        "burst",
        "each task's CPU (% of a core)",
        "server total",
        "time starved",
        "time on the GIL",
        "makespan",
        "stack sampling, worst process",
    ]
    body = (
        f"{table(columns, rows)}\n\n"
        f"Requests of {request_ms} ms of CPU each; shares are the medians of {windows} one-second "
        "readings of `cpu_pct` taken while every request was in service; the server total adds up "
        "its processes' `cpu_pct`; time starved is the share of each task's time in its request "
        "that the page drew it starved (GIL or no free core), median over tasks, and the part of it drawn on "
        "the GIL; the makespan is the burst's, first sent to last answered; stack sampling is "
        "what the agent's stack sampler cost a worker process (% of a core, capped at 1%), the "
        "highest reading. 2 cores. "
        f"Took {time.monotonic() - started:.0f} s."
    )
    report("cpu_shares", "CPU shares and the GIL", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
