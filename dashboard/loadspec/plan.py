"""What sustained load may ask for: N connections for T seconds, closed loop or a fixed rate,
with a ramp, as Locust's users and spawn rate do. Validated here for the API and the generator.

- closed: each connection sends its next request when the last one's reply is in; a ramp starts
  the connections one by one, evenly over `ramp_s`.
- rate: an open loop. Request k is due at a fixed time (the rate rises linearly from 0 over
  `ramp_s`, then holds); at most `connections` are in flight. A request that falls due while all
  of them are busy is not sent and counted as `missed`, and one sent more than LATE_S after its
  time (the generator's own loop was held up) is sent at once and counted as `late`: the schedule
  never slows down to suit the server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboard.loadspec.errors import BadLoadRequest
from dashboard.loadspec.http_request import HttpRequest, parse_request
from dashboard.loadspec.limits import MAX_COUNT, known_fields, whole

MODES = ("closed", "rate")
MAX_CONNECTIONS = MAX_COUNT  # the same cap as a burst's requests in flight
MAX_SECONDS = 600  # ten minutes, as a burst's count × ms
MAX_RATE = 2_000  # requests a second; the generator measured well above this (docs/benchmarks.md)
LATE_S = 0.010
FIELDS = ("server", "method", "path", "body", "connections", "seconds", "mode", "rate", "ramp_s")


@dataclass(frozen=True, slots=True)
class Plan:
    """One sustained run: `request` sent over `connections` connections for `seconds`."""

    request: HttpRequest
    connections: int
    seconds: float
    mode: str = "closed"
    rate: int = 0  # requests a second once ramped up, for "rate"
    ramp_s: float = 0

    def checked(self) -> Plan:
        """The plan if it is within the page's caps (whole numbers); else BadLoadRequest. The
        benchmark's command line (bench/sustained.py) has caps of its own."""
        whole(self.connections, "connections", 1, MAX_CONNECTIONS)
        whole(self.seconds, "seconds", 1, MAX_SECONDS)
        if self.mode not in MODES:
            raise BadLoadRequest(f"mode must be one of {', '.join(MODES)}, got {str(self.mode)[:20]!r}")
        if self.mode == "rate":
            whole(self.rate, "rate", 1, MAX_RATE)
        elif self.rate != 0:
            raise BadLoadRequest('rate goes with mode "rate" only (a closed loop sends as replies come)')
        whole(self.ramp_s, "ramp_s", 0, self.seconds)
        return self

    def view(self) -> dict:
        """The plan as the API shows it with the run."""
        return {
            "method": self.request.method,
            "path": self.request.path,
            "connections": self.connections,
            "seconds": self.seconds,
            "mode": self.mode,
            "rate": self.rate if self.mode == "rate" else None,
            "ramp_s": self.ramp_s,
        }

    def start_s(self, connection: int) -> float:
        """When connection number `connection` (from 0) of a closed loop opens: evenly over the ramp."""
        return self.ramp_s * connection / self.connections

    def due_s(self, k: int) -> float:
        """When request number `k` (from 0) of a fixed rate is due: the k-th time the count of
        requests due, ∫ rate, reaches k + 1 (rate r·t/ramp during the ramp, r after it)."""
        r, ramp, n = self.rate, self.ramp_s, k + 1
        if ramp and n <= r * ramp / 2:
            return math.sqrt(2 * n * ramp / r)
        return n / r + ramp / 2

    def due_by(self, t_s: float) -> int:
        """How many requests of a fixed rate fall due within `t_s` seconds of the start."""
        r, ramp, t = self.rate, self.ramp_s, min(t_s, self.seconds)
        if t <= 0:
            return 0
        if ramp and t <= ramp:
            return math.floor(r * t * t / (2 * ramp) + 1e-9)
        return math.floor(r * (t - ramp / 2) + 1e-9)

    def scheduled(self) -> int:
        """How many requests a fixed rate sends in all, unless some are missed."""
        return self.due_by(self.seconds)


def parse_plan(body: object) -> Plan:
    """A Plan from a JSON body, or BadLoadRequest saying what is wrong with it."""
    if not isinstance(body, dict):
        raise BadLoadRequest(
            'body must be a JSON object like {"path": "/", "connections": 8, "seconds": 30, "mode": "closed"}'
        )
    known_fields(body, FIELDS)
    return Plan(
        parse_request(body),
        body.get("connections"),
        body.get("seconds"),
        body.get("mode", "closed"),
        body.get("rate", 0),
        body.get("ramp_s", 0),
    ).checked()
