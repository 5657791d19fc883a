"""What a run of sustained load did, counted as it runs and summed up as its figures."""

from __future__ import annotations

from dashboard.model.stats import nearest_rank


class Tally:
    """The counts of one run (one event loop, so no locks)."""

    def __init__(self) -> None:
        self.latencies_ns: list[int] = []
        self.errors = 0  # failed replies and connections that could not be made
        self.sent = 0
        self.missed = 0  # rate: due while every connection was busy, so not sent
        self.late = 0  # rate: sent more than LATE_S after it was due

    def figures(self, elapsed_s: float, cpu_s: float) -> dict:
        """The run's figures over `elapsed_s`, with the generator's own CPU time `cpu_s`."""
        ordered = sorted(self.latencies_ns)

        def pct(p: float) -> float | None:
            return round(nearest_rank(ordered, p) / 1e6, 3) if ordered else None

        return {
            "requests": len(ordered),
            "errors": self.errors,
            "sent": self.sent,
            "missed": self.missed,
            "late": self.late,
            "seconds": round(elapsed_s, 3),
            "rps": round(len(ordered) / elapsed_s, 1),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "cpu_share": round(cpu_s / elapsed_s, 3),  # of one core: near 1.0, the generator is the limit
        }
