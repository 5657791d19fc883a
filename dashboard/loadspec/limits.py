"""What a burst may ask for: validated once, for the API and the burst process alike."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from dashboard.loadspec.errors import BadLoadRequest
from dashboard.loadspec.http_request import HttpRequest, parse_request

ENDPOINTS = ("hello", "io", "cpu", "cpu-native", "cpu-pool", "mixed")
MAX_COUNT = 500
MAX_MS = 60_000
MAX_WORK_MS = 600_000  # count × ms: ten minutes of request time per burst
MAX_ACTIVE_RUNS = 4
MAX_RUNS_PER_MINUTE = 60  # a held-down shortcut key must not turn the dashboard into a flood
REQUEST_TIMEOUT_S = 300


@dataclass(frozen=True)
class Burst:
    """`count` requests at once: of a demo endpoint (a preset), or `request` at any path."""

    endpoint: str
    count: int
    ms: int
    request: HttpRequest | None = None

    @property
    def label(self) -> str:
        """How the page names the burst's requests."""
        return self.endpoint if self.request is None else self.request.label

    def http(self) -> HttpRequest:
        """What each request of the burst sends."""
        return self.request or HttpRequest("GET", self.path())

    def path(self) -> str:
        """The URL path of every request of the burst (mixed: half I/O, half CPU)."""
        if self.request is not None:
            return self.request.path
        if self.endpoint == "hello":
            return "/hello"
        if self.endpoint == "mixed":
            io_ms = self.ms // 2
            return f"/mixed?io_ms={io_ms}&cpu_ms={self.ms - io_ms}"
        return f"/{self.endpoint}?ms={self.ms}"


class RunRate:
    """Refuses a burst when `most` have started in the last `window_s` seconds (a held-down key)."""

    def __init__(self, most: int = MAX_RUNS_PER_MINUTE, window_s: float = 60.0) -> None:
        self._starts: deque[float] = deque(maxlen=most)
        self.window_s = window_s

    def admit(self, now: float) -> None:
        """Count a burst starting at `now` (monotonic seconds), or BadLoadRequest saying when to retry."""
        if len(self._starts) == self._starts.maxlen and now - self._starts[0] < self.window_s:
            wait = math.ceil(self.window_s - (now - self._starts[0]))
            raise BadLoadRequest(f"at most {self._starts.maxlen} bursts a minute; try again in {wait} s")
        self._starts.append(now)


PRESET_FIELDS = ("endpoint", "count", "ms", "server")
PATH_FIELDS = ("method", "path", "body", "count", "server")


def parse_burst(body: object) -> Burst:
    """A Burst from a JSON body, or BadLoadRequest saying what is wrong with it."""
    if not isinstance(body, dict):
        raise BadLoadRequest('body must be a JSON object like {"endpoint": "io", "count": 10, "ms": 500}')
    if "path" in body:
        known_fields(body, PATH_FIELDS)
        return Burst("", whole(body.get("count", 10), "count", 1, MAX_COUNT), 0, parse_request(body))
    known_fields(body, PRESET_FIELDS)
    endpoint = body.get("endpoint")
    if endpoint not in ENDPOINTS:
        raise BadLoadRequest(
            f"endpoint must be one of {', '.join(ENDPOINTS)} (or name a path), got {str(endpoint)[:60]!r}"
        )
    count = whole(body.get("count", 10), "count", 1, MAX_COUNT)
    ms = whole(body.get("ms", 0 if endpoint == "hello" else 500), "ms", 0, MAX_MS)
    if count * ms > MAX_WORK_MS:
        raise BadLoadRequest(
            f"count × ms must be at most {MAX_WORK_MS} (ten minutes of work), got {count * ms}"
        )
    return Burst(endpoint, count, ms)


def known_fields(body: dict, names: tuple[str, ...]) -> None:
    """BadLoadRequest naming the first field of `body` that is not one of `names`."""
    unknown = sorted(str(key) for key in set(body) - set(names))
    if unknown:
        raise BadLoadRequest(f"unknown field {unknown[0][:40]!r}; fields: {', '.join(names)}")


def whole(value: object, name: str, low: int, high: int) -> int:
    """`value` when it is an int from `low` to `high`; else BadLoadRequest naming the field."""
    if type(value) is not int:
        raise BadLoadRequest(f"{name} must be a whole number from {low} to {high}, got {str(value)[:40]!r}")
    if not low <= value <= high:
        raise BadLoadRequest(f"{name} must be from {low} to {high}, got {value}")
    return value
