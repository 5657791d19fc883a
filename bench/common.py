"""What every benchmark shares: rounds run A/B interleaved, tables, the results page, servers, wrk.

Absolute timings on these shared 2-core machines drift ±10-15% from run to run, so every
benchmark compares variants side by side, round after round, and reports medians.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dashboard.children import Spawner, terminate_tree, tree_pids
from dashboard.files import PROJECT_ROOT
from dashboard.model.stats import nearest_rank
from dashboard.servers.manager import answers, free_port
from threadpulse_agent import ENV_COLLECTOR, ENV_MODE

RESULTS = PROJECT_ROOT / "docs" / "benchmarks.md"
HOST = "127.0.0.1"
T = TypeVar("T")

_PAGE_HEAD = """# Benchmarks

Each section is written by its benchmark (`.venv/bin/python -m bench.NAME`; `make bench` runs them
all but the soak). Variants are measured side by side in one run, interleaved round by round,
and the figures are medians over rounds: absolute timings on shared machines drift by ±10-15%
between runs, ratios measured this way much less.
"""


# -- command line -------------------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    """The flags every benchmark takes; `--quick` is the smoke variant, which writes no results."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a few seconds, for the smoke test; no doc update")
    p.add_argument("--no-doc", action="store_true", help=f"do not update {RESULTS.relative_to(PROJECT_ROOT)}")
    return p


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """How this run was started, for the results page."""
    return " ".join([".venv/bin/python -m", module, *(sys.argv[1:] if argv is None else argv)])


# -- statistics -----------------------------------------------------------------------------------


def checkouts(against: Path | None) -> dict[str, Path | None]:
    """The trees a benchmark measures side by side: this one (None), and `against` when given."""
    return {"this tree": None} if against is None else {"this tree": None, str(against): against}


def no_agent_in(tree: Path | None) -> bool:
    """Whether `--against tree` names a folder with no agent to measure (said on stderr)."""
    if tree is None or (tree / "agent" / "threadpulse_agent").is_dir():
        return False
    print(f"--against {tree}: no agent/threadpulse_agent there; give a checkout's root", file=sys.stderr)
    return True


def run_py_of(tree: Path | None) -> dict:
    """tests.support.Dashboard's arguments for another checkout's run.py (none for this one's)."""
    return {} if tree is None else {"command": [sys.executable, str(tree / "run.py")], "cwd": tree}


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (a value that occurred); NaN for no values."""
    return nearest_rank(sorted(values), p / 100) if values else math.nan


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def interleaved(rounds: int, variants: dict[str, Callable[[], T]]) -> dict[str, list[T]]:
    """Run each variant once per round, the order rotated by one every round (for two variants,
    ABBA), so slow drifts of the machine and each place in a round fall on every variant alike.
    Reversing three (ABC CBA) keeps B in the middle for ever and never runs it twice in a row, as
    A and C are at the turns: bench.own_app_overhead put the agent there and saw it lose 4-5% in
    three runs, then -0.6% with the order rotated."""
    results: dict[str, list[T]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(variants[name]())
    return results


# -- the results page ---------------------------------------------------------------------------


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (also readable as printed text)."""
    cells = [[str(c) for c in columns], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def machine() -> str:
    return (
        f"{datetime.date.today().isoformat()}, nproc {os.cpu_count()}, Python {sys.version.split()[0]}, "
        f"{os.uname().sysname} {os.uname().release}"
    )


def report(
    name: str,
    title: str,
    body: str,
    argv: Sequence[str] | None,
    args: argparse.Namespace,
    section_name: str | None = None,
) -> None:
    """Print the result of `bench.NAME`, and replace its section of docs/benchmarks.md (or the
    section `section_name`, for a benchmark that writes two) unless this was the smoke variant
    (`--quick`) or `--no-doc` was given."""
    command = command_line(f"bench.{name}", argv)
    section = f"## {title}\n\n{machine()}. Command: `{command}`\n\n{body.strip()}\n"
    print(section, flush=True)
    if args.quick or args.no_doc:
        return
    replace_block(RESULTS, section_name or name, section)


def replace_block(page: Path, marker: str, section: str) -> None:
    """Put `section` between `page`'s `<!-- bench:MARKER -->` lines (appended if it has none),
    leaving the page's hand-written text around it as it is."""
    start, end = f"<!-- bench:{marker} -->", f"<!-- /bench:{marker} -->"
    text = page.read_text() if page.exists() else _PAGE_HEAD
    block = f"{start}\n{section}{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    page.write_text(text)


# -- processes ------------------------------------------------------------------------------------


def on_cpu(cpu: int | None, argv: list[str]) -> list[str]:
    """argv pinned to one core (when the machine has more than one), so client and server don't
    trade places on the same core between rounds."""
    if cpu is None or (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(cpu % (os.cpu_count() or 1)), *argv]


@contextmanager
def spawned(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT
) -> Iterator[subprocess.Popen]:
    """A guarded child (it dies with this process) whose whole tree is stopped on exit."""
    spawner = Spawner()
    log = Path(tempfile.mkstemp(prefix="threadpulse-bench-", suffix=".log")[1])
    proc = spawner.spawn(argv, env or {}, log, cwd=cwd)
    try:
        yield proc
    finally:
        terminate_tree(proc, timeout=3)
        spawner.close()
        log.unlink(missing_ok=True)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait until `url` answers 200 (the server is up), or fail if the process exits."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {proc.returncode}")
        if answers(parts.hostname, parts.port, parts.path or "/"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@dataclass(frozen=True)
class Server:
    """A started workload server: where it listens, and its process tree."""

    url: str
    pid: int

    def cpu_ns(self) -> int:
        """Time on a core so far of every thread of the tree (schedstat): a server's cost, apart
        from how much of the core the machine's other tenants left it."""
        total = 0
        for pid in tree_pids(self.pid):
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                        total += int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
        return total


@contextmanager
def workload_server(
    workers: int, threads: int, collector: str | None = None, cpu: int | None = None
) -> Iterator[Server]:
    """The workload app under gunicorn gthread, as the dashboard starts it.

    With `collector` unset the agent is a no-op (its environment variable absent).
    """
    from dashboard.servers.modes.gunicorn_gthread import GunicornGthread  # only where needed

    port = free_port()
    mode = GunicornGthread()
    argv = mode.command({"workers": workers, "threads": threads}, HOST, port)
    env = {ENV_MODE: mode.name}
    if collector:
        env[ENV_COLLECTOR] = collector
    saved = os.environ.pop(ENV_COLLECTOR, None)  # never inherit one by accident
    try:
        with spawned(on_cpu(cpu, argv), env) as proc:
            url = f"http://{HOST}:{port}"
            wait_http(url + "/hello", proc)
            yield Server(url, proc.pid)
    finally:
        if saved is not None:
            os.environ[ENV_COLLECTOR] = saved


@contextmanager
def udp_sink() -> Iterator[str]:
    """A bound UDP port nobody reads: agents send to it as to a collector, at no cost to this
    process (once its buffer is full the kernel drops what comes, as UDP does)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    try:
        yield f"udp://{HOST}:{sock.getsockname()[1]}"
    finally:
        sock.close()


# -- wrk -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    """One load run's figures, whoever generated the load."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu: float  # share of one core the generator used while it ran


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, seconds: float, connections: int, cpu: int | None = None) -> Throughput:
    """Debian's wrk, one thread, keep-alive connections; its own latency percentiles."""
    seconds = max(1, round(seconds))
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    before = _children_cpu_s()
    out = subprocess.run(on_cpu(cpu, argv), capture_output=True, text=True, timeout=seconds + 30).stdout
    client_cpu = (_children_cpu_s() - before) / seconds
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        raise RuntimeError(f"wrk gave no figures: {out[-500:]}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return Throughput(float(rps.group(1)), _wrk_pct(out, "50%"), _wrk_pct(out, "99%"), errors, client_cpu)


def _children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk_pct(out: str, label: str) -> float:
    m = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    return float(m.group(1)) * _UNITS_MS[m.group(2)] if m else math.nan


def run_sustained(
    url: str, seconds: float, connections: int, cpu: int | None = None, collector: str | None = None
) -> Throughput:
    """The project's own generator (dashboard.loadgen.sustained) in a process of its own (bench.sustained)."""
    argv = [sys.executable, "-m", "bench.sustained", "--url", url]
    argv += ["--connections", str(connections), "--seconds", str(seconds)]
    if collector:
        argv += ["--collector", collector]
    out = subprocess.run(
        on_cpu(cpu, argv), capture_output=True, text=True, timeout=seconds + 30, cwd=PROJECT_ROOT, check=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    nan = math.nan
    return Throughput(
        result["rps"], result["p50_ms"] or nan, result["p99_ms"] or nan, result["errors"], result["cpu_share"]
    )


def drive(url: str, seconds: float, connections: int, cpu: int | None = None) -> Throughput:
    """Load from wrk, or from the project's generator where wrk is absent."""
    if wrk_available():
        return run_wrk(url, seconds, connections, cpu)
    return run_sustained(url, seconds, connections, cpu)


def load_tool() -> str:
    return "wrk -t1" if wrk_available() else "dashboard.loadgen.sustained (wrk is absent)"
