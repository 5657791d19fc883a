"""The agent's request path counted, not timed: instructions per request under valgrind.

Time on a shared 2-core machine drifts with its other tenants; a count of instructions does not.
Each variant runs in a child Python under valgrind's cachegrind twice, N and 2N in-process calls
of `/hello` (bench/in_process.py's harness, drained every CALLS_PER_FLUSH calls as the reporter
would), and the difference over N is one request's count: start-up, imports and warm-up fall out.
The simulated caches' data misses stand for the memory a request touches.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.in_process import CALLS_PER_FLUSH, minimal_app, wrapped_in_agent, wsgi_call_us

VALGRIND = "/usr/bin/valgrind"
APPS = ("flask", "minimal")
# bare: the app alone; agent: in the middleware, its buffer emptied (the request path alone);
# flushed: the same, the reporter's flush (building the events, encoding, sendto) included.
VARIANTS = ("bare", "agent", "flushed")
_COUNTERS = {"I": r"I\s+refs:\s+([\d,]+)", "D": r"D\s+refs:\s+([\d,]+)", "D1": r"D1\s+misses:\s+([\d,]+)"}


@dataclass(frozen=True)
class Counts:
    """Per request: instructions, data references, and first-level data cache misses."""

    instructions: float
    data: float
    d1_misses: float

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.instructions - other.instructions, self.data - other.data, self.d1_misses - other.d1_misses
        )


def child(app_name: str, variant: str, calls: int) -> None:
    """Serve `calls` requests in process as the variant says (run under valgrind by `counted`)."""
    import gc
    import socket
    import threading

    from threadpulse_agent.recorder import Recorder
    from threadpulse_agent.reporter import Reporter, local_source

    if app_name == "flask":
        from workload import create_app

        bare = create_app().wsgi_app
    else:
        bare = minimal_app
    recorder = Recorder()
    recorder.notify = threading.Event().set
    app = bare if variant == "bare" else wrapped_in_agent(bare, recorder)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        reporter = Reporter(sink.getsockname(), local_source("bench", "worker"), recorder)
        wsgi_call_us(app, "/hello", 1)
        # The app's and the imports' objects out of the collector's sight: a full collection of
        # them (millions of instructions) falling in one run and not the other swung a request's
        # count around Flask by thousands; the young objects requests make are still collected.
        gc.collect()
        gc.freeze()
        for done in range(0, calls, CALLS_PER_FLUSH):
            wsgi_call_us(app, "/hello", min(CALLS_PER_FLUSH, calls - done))
            if variant == "flushed":
                reporter.flush()
            else:  # emptied as a drain would, without building the events: the request path alone
                recorder.events.clear()


def counted(
    app_name: str, variant: str, calls: int, caches: bool = True, against: Path | None = None
) -> Counts:
    """What valgrind counts over a whole child run of `calls` requests (without `caches`, only the
    instructions: twice as fast, the data figures NaN); with `against`, the agent of that checkout
    (its `agent/` ahead of this one's on the child's path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADPULSE_")}
    env["PYTHONHASHSEED"] = "0"  # the same dict layouts every run
    if against is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(against / "agent"), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    out = subprocess.run(
        [VALGRIND, "--tool=cachegrind", f"--cache-sim={'yes' if caches else 'no'}",
         "--cachegrind-out-file=/dev/null",
         sys.executable, "-m", "bench.instructions", "--child", app_name, variant, str(calls)],
        capture_output=True, text=True, env=env, timeout=900, check=True,
    )  # fmt: skip
    found = {name: re.search(pattern, out.stderr) for name, pattern in _COUNTERS.items()}
    if found["I"] is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{out.stderr[-2000:]}")
    return Counts(*(float(m.group(1).replace(",", "")) if m else math.nan for m in found.values()))


def per_request(once: Counts, twice: Counts, calls: int) -> Counts:
    """One request's counts from runs of N and 2N requests: (2N − N) / N."""
    diff = twice - once
    return Counts(diff.instructions / calls, diff.data / calls, diff.d1_misses / calls)


def measure(
    calls: int, apps: tuple[str, ...] = APPS, caches: bool = True, against: Path | None = None
) -> list[list[object]]:
    """One row per app and agent: the bare counts and what the agent adds, on the request path and
    with the reporter's flush; with `against`, a second row per app for that checkout's agent,
    measured in the same run against the same bare counts. The valgrind children run one a core
    at once: a count does not depend on what else runs."""
    agents = (None, against) if against is not None else (None,)
    runs = [
        (app_name, variant, agent, size)
        for app_name in apps
        for variant in VARIANTS
        for agent in (agents if variant != "bare" else (None,))
        for size in (calls, 2 * calls)
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = pool.map(lambda run: counted(run[0], run[1], run[3], caches, run[2]), runs)
        counts = dict(zip(runs, found, strict=True))

    def one(app_name: str, variant: str, agent: Path | None) -> Counts:
        key = (app_name, variant, agent)
        return per_request(counts[(*key, calls)], counts[(*key, 2 * calls)], calls)

    rows = []
    for app_name in apps:
        bare = one(app_name, "bare", None)
        for agent in agents:
            path = one(app_name, "agent", agent) - bare
            flushed = one(app_name, "flushed", agent) - bare - path
            name = "Flask /hello" if app_name == "flask" else "minimal WSGI app"
            rows.append(_row(f"{name}, {agent.name}'s agent" if agent else name, bare, path, flushed))
    return rows


def _row(name: str, bare: Counts, path: Counts, flushed: Counts) -> list[object]:
    return [
        name,
        bare.instructions,
        path.instructions,
        f"{100 * path.instructions / bare.instructions:.1f}%",
        path.data,
        path.d1_misses,
        flushed.instructions,
    ]


COLUMNS = [
    "app",
    "instructions a request bare",
    "the request path adds",
    "share",
    "data refs added",
    "D1 misses added",
    "the reporter's flush adds",
]


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--child"]:
        child(args_in[1], args_in[2], int(args_in[3]))
        return 0
    from bench.common import no_agent_in, parser, report, table  # not in the child: it imports the dashboard

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=2000, help="N: each variant runs N and 2N requests")
    p.add_argument(
        "--against",
        type=Path,
        metavar="DIR",
        help="also count the agent of the checkout in DIR (e.g. main's)",
    )
    args = p.parse_args(args_in)
    if no_agent_in(args.against):
        return 2
    if shutil.which(VALGRIND) is None:
        print(f"{VALGRIND} is missing: apt-get install -y valgrind", file=sys.stderr)
        return 2
    calls = 50 if args.quick else args.calls
    if args.quick:
        rows = measure(calls, ("minimal",), caches=False, against=args.against)
    else:
        rows = measure(calls, against=args.against)
    body = (
        f"{table(COLUMNS, rows)}\n\n"
        f"valgrind cachegrind (simulated caches), one child Python per variant and size, {calls} and "
        f"{2 * calls} in-process calls of `/hello` ({CALLS_PER_FLUSH} at a time, the buffer drained "
        "between, as bench/in_process.py times them); a request's count is the difference over "
        f"{calls}, so start-up and imports cancel; PYTHONHASHSEED=0, and the app's objects frozen out of the "
        "garbage collector after a warm-up call (a full collection of them landing in one run and "
        "not the other swung a count around Flask by thousands). The request path is the "
        "middleware with its buffer drained; the reporter's flush (off the request path, on the "
        "reporter thread) is what building, encoding and sending the events adds on top. The "
        "machine's other work changes none of these counts."
    )
    report("instructions", "Agent request path, counted", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
