"""What happened over the last seconds: request spans (the timeline) and per-second figures
(the charts). Both are append-only with a sequence number, so a frame carries only what is new.

The page learns the span's field order, the span window and the points kept from its bootstrap
(`page_contract`), so this module is the one place they are said."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from dashboard.model.stats import percentiles

SPANS_KEPT = 5_000
SPAN_WINDOW_NS = 30_000_000_000  # the timeline's window
SERIES_KEPT = 120  # seconds: the charts' points
ROUTES_PER_POINT = 6  # a point's service p95 by route: the routes with most requests that second


class Span(NamedTuple):
    """One finished request; on the wire a JSON array in this order (frames carry hundreds, so
    no key names). Times are ms on the dashboard's monotonic clock; queue wait = start - sent."""

    seq: int
    task: str  # "pid:id"
    start_ms: float
    end_ms: float
    sent_ms: float | None  # None: not sent by the dashboard's load generator
    path: str
    status: str
    route: str  # what kind of request (dashboard/model/routes.py): the page colours by it


def page_contract() -> dict:
    """What the page needs to read the history it is sent, for its bootstrap."""
    return {
        "span_fields": list(Span._fields),
        "span_window_ms": SPAN_WINDOW_NS // 1_000_000,
        "series_points": SERIES_KEPT,
    }


@dataclass
class Spans:
    """Finished requests, oldest first."""

    items: deque[Span] = field(default_factory=lambda: deque(maxlen=SPANS_KEPT))
    seq: int = 0

    def add(
        self, key: str, start_ns: int, end_ns: int, sent_ns: int | None, path: str, status: str, route: str
    ) -> None:
        self.seq += 1
        sent = None if sent_ns is None else round(sent_ns / 1e6, 1)
        self.items.append(
            Span(self.seq, key, round(start_ns / 1e6, 1), round(end_ns / 1e6, 1), sent, path, status, route)
        )

    def since(self, seq: int, now_ns: int, most: int) -> list[Span]:
        """Spans after `seq` that ended within the window, newest `most` of them."""
        horizon = (now_ns - SPAN_WINDOW_NS) / 1e6
        out: list[Span] = []
        for span in reversed(self.items):
            if span.seq <= seq or span.end_ms < horizon or len(out) >= most:
                break
            out.append(span)
        out.reverse()
        return out


@dataclass
class Bucket:
    """One second's figures, filled as requests end and samples come."""

    done: int = 0
    failed: int = 0
    in_service_max: int = 0
    queued_max: int = 0
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)
    services_by_route: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Series:
    """Per-second points: throughput, concurrency against capacity, latency split, CPU."""

    points: deque = field(default_factory=lambda: deque(maxlen=SERIES_KEPT))
    seq: int = 0
    current: Bucket = field(default_factory=Bucket)
    second: int | None = None

    def record_end(self, ok: bool, wait_ms: float | None, service_ms: float, route: str) -> None:
        bucket = self.current
        if ok:
            bucket.done += 1
        else:
            bucket.failed += 1
        if wait_ms is not None:
            bucket.waits.append(wait_ms)
        bucket.services.append(service_ms)
        bucket.services_by_route.setdefault(route, []).append(service_ms)

    def observe(self, in_service: int, queued: int) -> None:
        bucket = self.current
        bucket.in_service_max = max(bucket.in_service_max, in_service)
        bucket.queued_max = max(bucket.queued_max, queued)

    def roll(self, now_ns: int, capacity: int | None, cpu: dict) -> None:
        """Close the current second when the clock has passed it."""
        second = now_ns // 1_000_000_000
        if self.second is None:
            self.second = second
        if second == self.second:
            return
        self.seq += 1
        self.points.append(self._point(self.second, capacity, cpu))
        self.current = Bucket()
        self.second = second

    def open_point(self, capacity: int | None, cpu: dict) -> dict | None:
        """The second still open, as a point so far (marked partial): a report made just after a
        burst would otherwise have no point for its last second."""
        if self.second is None:
            return None
        return {**self._point(self.second, capacity, cpu), "seq": self.seq + 1, "partial": True}

    def _point(self, second: int, capacity: int | None, cpu: dict) -> dict:
        bucket = self.current
        return {
            "seq": self.seq,
            "t": second + 1,
            "done": bucket.done,
            "failed": bucket.failed,
            "in_service": bucket.in_service_max,
            "queued": bucket.queued_max,
            "capacity": capacity,
            "wait_ms": percentiles(bucket.waits),
            "service_ms": percentiles(bucket.services),
            "routes": _by_route(bucket.services_by_route),
            "cpu": cpu,
        }

    def since(self, seq: int) -> list[dict]:
        return [point for point in self.points if point["seq"] > seq]


def _by_route(services: dict[str, list[float]]) -> dict[str, dict]:
    """Per route, the second's requests and their service p95 (ms), for the routes with most."""
    busiest = sorted(services.items(), key=lambda item: -len(item[1]))[:ROUTES_PER_POINT]
    return {route: {"n": len(times), "p95": percentiles(times)["p95"]} for route, times in busiest}
