"""Routes, not raw paths: what kind of request each one is, and the figures kept per route.

A real app serves thousands of URLs (`/post/1`, `/post/2`, ...) of a handful of kinds. The agent
names the kind when it can (Flask's URL rule, `/post/<int:post_id>`, on the `end` event); when
it cannot, `normalise` names it from the path. Pure: fed by the model as requests end, no I/O.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

ID = "<id>"
OTHER_ROUTE = "other"  # every route of a server past MAX_ROUTES: a label no path can take
MAX_ROUTES = 50  # per server: a bound on the page's colours and on /metrics' series
MAX_SERVERS = 16  # servers whose figures are kept, the least recently served forgotten first
MAX_STATUSES = 20  # distinct status labels per route; more fall under OTHER_STATUS
OTHER_STATUS = "other"
ERROR_STATUS = "error"  # the app raised: no status was sent
# Upper bounds (s) of the latency histograms' buckets, Prometheus's defaults: a queue wait and a
# service time both run from a millisecond (/hello) to seconds (a queue behind a full pool).
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

# One pass in C over the path: a segment that is all ASCII digits, a uuid, or 8+ hex digits with a
# digit among them (an id, not a word like "facade"). `[0-9]`, not `\d`: `\d` takes any script's digits.
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:[0-9]+"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?=[a-fA-F]*[0-9])[0-9a-fA-F]{8,})(?=/|$)"
)


@lru_cache(maxsize=4_096)
def normalise(path: str) -> str:
    """A path's route when the agent sent none: the query dropped, and each segment that is a
    number, a uuid or a long hex string (an id, not a kind) replaced by `<id>`.

    `/post/42?x=1` -> `/post/<id>`; `/u/3f2a9c1e77/edit` -> `/u/<id>/edit`; `/hello` unchanged.
    Called for every request the collector folds, so one regex pass, and cached: paths repeat.
    """
    path = path.split("?", 1)[0]
    return _ID_SEGMENT.sub(ID, path if path.startswith("/") else "/" + path)


def status_label(status: str) -> str:
    """The status as /metrics labels it: the code, or `error` when the app raised."""
    return status if status else ERROR_STATUS


@dataclass
class Histogram:
    """Counts per bucket (not cumulative: `cumulative` adds them up), their sum and count."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_S) + 1))
    sum_s: float = 0.0

    def observe(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.counts[bisect_left(BUCKETS_S, seconds)] += 1  # the first bucket whose bound >= seconds
        self.sum_s += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at or under it), `+Inf` last: Prometheus's buckets."""
        out, total = [], 0
        for bound, count in zip((*map(str, BUCKETS_S), "+Inf"), self.counts, strict=True):
            total += count
            out.append((bound, total))
        return out

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass
class RouteFigures:
    """What ended on one route of one server: by status, and how long it waited and took."""

    statuses: dict[str, int] = field(default_factory=dict)
    queue_wait: Histogram = field(default_factory=Histogram)  # only requests with a known send time
    service: Histogram = field(default_factory=Histogram)

    def count_status(self, status: str) -> None:
        label = status_label(status)
        if label not in self.statuses and len(self.statuses) >= MAX_STATUSES:
            label = OTHER_STATUS
        self.statuses[label] = self.statuses.get(label, 0) + 1


@dataclass
class ServerRoutes:
    """One server's routes: figures per route, and the route each normalised path turned out to be,
    so a request still in service is shown under the rule its earlier fellows ended with."""

    figures: dict[str, RouteFigures] = field(default_factory=dict)
    learned: OrderedDict[str, str] = field(default_factory=OrderedDict)

    def of(self, route: str) -> tuple[str, RouteFigures]:
        """`route` and its figures, made on first use; OTHER_ROUTE's once the server has MAX_ROUTES."""
        figures = self.figures.get(route)
        if figures is None:
            if len(self.figures) >= MAX_ROUTES and route != OTHER_ROUTE:
                return self.of(OTHER_ROUTE)
            figures = self.figures[route] = RouteFigures()
        return route, figures


class RouteBook:
    """Per server and route, the figures of every request that ended: bounded by MAX_SERVERS and
    MAX_ROUTES, so junk paths cannot grow it."""

    def __init__(self) -> None:
        self.servers: OrderedDict[str, ServerRoutes] = OrderedDict()

    def guess(self, server: str, path: str) -> str:
        """The route of a request that has begun: the rule its path's fellows ended with, if known."""
        known = self.servers.get(server)
        shape = normalise(path)
        return known.learned.get(shape, shape) if known is not None else shape

    def end(
        self,
        server: str,
        path: str | None,
        route: str | None,
        status: str,
        wait_s: float | None,
        service_s: float | None,
    ) -> str:
        """Count a request that ended, under the route the agent named, else its path's (OTHER_ROUTE
        when its `begin` never came: path and times unknown); returns the route it counts under."""
        book = self.servers.get(server)
        if book is None:
            book = self.servers[server] = ServerRoutes()
            while len(self.servers) > MAX_SERVERS:
                self.servers.popitem(last=False)
        else:
            self.servers.move_to_end(server)  # most recently served last
        if path is not None:
            shape = normalise(path)
            if route is None:
                route = book.learned.get(shape, shape)
            elif book.learned.get(shape) != route:
                book.learned[shape] = route
                while len(book.learned) > MAX_ROUTES:
                    book.learned.popitem(last=False)
        route, figures = book.of(route or OTHER_ROUTE)
        figures.count_status(status)
        if service_s is not None:
            figures.service.observe(service_s)
        if wait_s is not None:
            figures.queue_wait.observe(wait_s)
        return route

    def forget(self, server: str) -> None:
        """The server starts afresh (its counters in the state do too)."""
        self.servers.pop(server, None)
