"""The queueing law in every server mode: a burst of n × `/io?ms=s` on c slots takes ceil(n/c)·s.

Each mode's law cases come from the registry (`Mode.law_cases`). One real dashboard (`run.py`) is
switched from mode to mode through `POST /api/server`, as a user would; each case fires its burst
a few times and reports the median makespan and the peak of requests in service at once (from the
agent's start and end times). Writes docs/modes.md.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import command_line, machine, median, parser, replace_block, table
from dashboard.config import DEFAULT_MODE
from dashboard.files import PROJECT_ROOT
from dashboard.servers.mode import LawCase
from dashboard.servers.modes import REGISTRY
from tests.support import Dashboard

RESULTS = PROJECT_ROOT / "docs" / "modes.md"


@dataclass(frozen=True)
class Case:
    mode: str
    law: LawCase


# Every mode's law cases in the page's order; the quick variant fires the first case of the first
# mode, of the default one and of the last.
CASES = tuple(Case(name, law) for name, mode in REGISTRY.items() for law in mode.law_cases)
_NAMES = list(REGISTRY)
QUICK = tuple(
    Case(name, REGISTRY[name].law_cases[0]) for name in dict.fromkeys((_NAMES[0], DEFAULT_MODE, _NAMES[-1]))
)


@dataclass(frozen=True)
class Result:
    case: Case
    capacity: int | None
    peaks: list[int]
    makespans: list[float]
    waves: list[list[float]]  # per round: the median queue wait of each wave of c requests

    def row(self) -> list[object]:
        law = self.case.law
        measured = median(self.makespans)
        peak = "/".join(str(p) for p in sorted(set(self.peaks)))
        capacity = "unbounded" if self.capacity is None else str(self.capacity)
        return [
            self.case.mode,
            law.label(),
            capacity,
            f"{law.count} × {law.ms} ms",
            peak,
            float(law.makespan_ms),
            measured,
            f"{measured / law.makespan_ms:.2f}",
            " / ".join(f"{median(wave):.0f}" for wave in zip(*self.waves, strict=False)),
            law.note if law.tested else f"{law.note}; not in the law test",
        ]


COLUMNS = (
    "mode",
    "parameters",
    "capacity",
    "burst",
    "peak busy",
    "law ms",
    "makespan ms",
    "ratio",
    "queue wait ms by wave",
    "note",
)


def waves(requests: list[dict], capacity: int) -> list[float]:
    """Queue waits sorted and cut into waves of `capacity` requests: the median of each. By the
    law, wave k waits k service times (0, s, 2s, ...)."""
    waits = sorted(r["queue_wait_ms"] for r in requests if r["queue_wait_ms"] is not None)
    return [median(waits[i : i + capacity]) for i in range(0, len(waits), capacity)]


def measure(dash: Dashboard, case: Case, rounds: int) -> Result:
    law = case.law
    reply = dash.post("/api/server", {"mode": case.mode, **law.params})
    reply.raise_for_status()
    info = reply.json()
    dash.wait_processes(law.params.get("workers", 1))
    peaks, makespans, by_wave = [], [], []
    for _ in range(rounds):
        run = dash.wait_run(dash.fire("io", law.count, law.ms))
        if run["done"] != law.count:
            raise SystemExit(f"{case.mode}: {run['done']} of {law.count} requests done: {run}")
        peaks.append(run["peak_busy"])
        makespans.append(run["makespan_ms"])
        by_wave.append(waves(run["requests"], law.peak_busy))
    return Result(case, info["capacity"], peaks, makespans, by_wave)


def main(argv: Sequence[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="bursts per case (median makespan)")
    args = p.parse_args(argv)
    cases, rounds = (QUICK, 1) if args.quick else (CASES, args.rounds)
    dash = Dashboard("--mode", "flask-dev-serial")
    try:
        dash.wait_serving()
        results = [measure(dash, case, rounds) for case in cases]
    finally:
        dash.stop_leaving_nothing(10)
    body = table(COLUMNS, [r.row() for r in results])
    print(body, flush=True)
    if not (args.quick or args.no_doc):
        replace_block(RESULTS, "modes", _block(body, command_line("bench.modes", argv), rounds))
    return 0


def _block(body: str, command: str, rounds: int) -> str:
    """What the run writes into docs/modes.md; the page's explanations around it are hand-written."""
    return (
        f"Written by `{command}` ({machine()}). Each case ran {rounds} times on a real server switched "
        "live through `POST /api/server`.\n\n"
        f"{body}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
