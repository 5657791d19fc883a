"""A sustained run's counts summed up as its figures (dashboard/loadgen/tally.py)."""

from __future__ import annotations

from dashboard.loadgen.tally import Tally

MS = 1_000_000


def test_figures_count_good_replies_alone_with_nearest_rank_percentiles_in_ms():
    """Only replies 2xx/3xx are timed (errors are counted beside them); p50/p99 are nearest-rank
    over those, as the page's are (model/stats.py)."""
    tally = Tally()
    tally.latencies_ns = [ms * MS for ms in range(100, 0, -1)]
    tally.sent, tally.errors, tally.missed, tally.late = 103, 3, 4, 5
    assert tally.figures(2.0, 0.5) == {
        "requests": 100,
        "errors": 3,
        "sent": 103,
        "missed": 4,
        "late": 5,
        "seconds": 2.0,
        "rps": 50.0,
        "p50_ms": 50.0,
        "p99_ms": 99.0,
        "cpu_share": 0.25,
    }


def test_a_run_with_no_good_reply_has_no_percentiles():
    tally = Tally()
    tally.sent = tally.errors = 7
    figures = tally.figures(1.0, 0.1)
    assert (figures["requests"], figures["rps"], figures["p50_ms"], figures["p99_ms"]) == (0, 0.0, None, None)
