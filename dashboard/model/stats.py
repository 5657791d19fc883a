"""Statistics the page shows, computed exactly from recorded times (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def nearest_rank(ordered: Sequence[float], p: float) -> float:
    """The p-quantile (0 < p <= 1) of sorted values by the nearest-rank method: a value that
    occurred, never an interpolation between two."""
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p95 and max by the nearest-rank method (every figure is a value that occurred)."""
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "p50": round(nearest_rank(ordered, 0.50), 1),
        "p95": round(nearest_rank(ordered, 0.95), 1),
        "max": round(ordered[-1], 1),
    }


def peak_overlap(intervals: Iterable[tuple[int, int]]) -> int:
    """The most intervals [start, end) open at one instant.

    An interval that ends at the instant another starts does not overlap it: a task that
    finishes a request and picks up the next is busy once, not twice.
    """
    points = []
    for start, end in intervals:
        points.append((start, 1))
        points.append((end, -1))
    points.sort()  # at equal times -1 sorts before +1
    peak = busy = 0
    for _, step in points:
        busy += step
        peak = max(peak, busy)
    return peak
