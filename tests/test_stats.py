"""Figures shown for a run: exact, from recorded times."""

from __future__ import annotations

from dashboard.model.stats import peak_overlap, percentiles


def test_percentiles_are_values_that_occurred():
    values = [float(v) for v in range(1, 21)]
    assert percentiles(values) == {"p50": 10.0, "p95": 19.0, "max": 20.0}
    assert percentiles([]) == {"p50": None, "p95": None, "max": None}
    assert percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "max": 7.0}


def test_peak_overlap_counts_back_to_back_requests_once():
    """A task that ends one request as it begins the next is busy once, not twice."""
    assert peak_overlap([(0, 10), (10, 20), (20, 30)]) == 1
    assert peak_overlap([(0, 10), (5, 15), (6, 7)]) == 3
    assert peak_overlap([]) == 0
