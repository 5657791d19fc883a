"""What a burst may ask for: validated once, for the API and the burst process alike."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

ENDPOINTS = ("hello", "io", "cpu", "cpu-native", "cpu-pool", "mixed")
MAX_COUNT = 500
MAX_MS = 60_000
MAX_WORK_MS = 600_000  # count × ms: ten minutes of request time per burst
MAX_ACTIVE_RUNS = 4
MAX_RUNS_PER_MINUTE = 60  # a held-down shortcut key must not turn the dashboard into a flood
REQUEST_TIMEOUT_S = 300


class BadLoadRequest(ValueError):
    """A burst that cannot be fired; the message says what to change."""


@dataclass(frozen=True)
class Burst:
    endpoint: str
    count: int
    ms: int

    def path(self) -> str:
        """The workload URL path of every request of the burst (mixed: half I/O, half CPU)."""
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


def parse_burst(body: object) -> Burst:
    """A Burst from a JSON body, or BadLoadRequest saying what is wrong with it."""
    if not isinstance(body, dict):
        raise BadLoadRequest('body must be a JSON object like {"endpoint": "io", "count": 10, "ms": 500}')
    unknown = sorted(set(body) - {"endpoint", "count", "ms"})
    if unknown:
        raise BadLoadRequest(f"unknown field {unknown[0][:40]!r}; fields: endpoint, count, ms")
    endpoint = body.get("endpoint")
    if endpoint not in ENDPOINTS:
        raise BadLoadRequest(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {str(endpoint)[:60]!r}")
    count = _whole(body.get("count", 10), "count", 1, MAX_COUNT)
    ms = _whole(body.get("ms", 0 if endpoint == "hello" else 500), "ms", 0, MAX_MS)
    if count * ms > MAX_WORK_MS:
        raise BadLoadRequest(
            f"count × ms must be at most {MAX_WORK_MS} (ten minutes of work), got {count * ms}"
        )
    return Burst(endpoint, count, ms)


def _whole(value: object, name: str, low: int, high: int) -> int:
    if type(value) is not int:
        raise BadLoadRequest(f"{name} must be a whole number from {low} to {high}, got {str(value)[:40]!r}")
    if not low <= value <= high:
        raise BadLoadRequest(f"{name} must be from {low} to {high}, got {value}")
    return value
