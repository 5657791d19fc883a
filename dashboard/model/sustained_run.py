"""A sustained run: load kept on a server for seconds, as the load generator's and the agent's
events tell it. Same questions as a burst's Run (runs.py), in bounded memory: a run of ten
minutes at 2,000 requests a second must not keep a record per request.

Requests are remembered one by one only while they may still be in flight (the newest RECENT);
latency and queue wait keep a uniform sample of at most SAMPLES values each (exact below that),
so every percentile is a value that occurred, and their exact maximum. A fixed-rate run's
schedule starts at `start_ns` on the host's monotonic clock and request k is due at
`start_ns + due_s(k)`: the model counts late sends from the `sent` events, and missed ones as
due slots never sent.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from dashboard.loadspec.plan import LATE_S, Plan
from dashboard.model.runs import SETTLE_NS
from dashboard.model.stats import percentiles
from dashboard.model.tasks import ProcessKey

RECENT = 4_096  # over the most requests in flight at once (plan.MAX_CONNECTIONS)
SERVED_BY = 64  # pids kept of the processes its requests began in (workers come and go)
SAMPLES = 20_000  # sorting this many takes ~10 ms here; p95 of a uniform sample is then within
# about ±0.3 percentile points of the true one (binomial: 1.96·√(.95·.05/20000))
GRACE_NS = 1_000_000_000  # a due request's `sent` event may take this long to arrive
# Frames carry the latest runs' summaries up to 20 times a second; sorting a full sample (~10 ms)
# is done at most this often while the run goes, and once more when it is over.
REFRESH_NS = 1_000_000_000


class Sample:
    """A uniform random sample of at most `size` values (Vitter's algorithm R), seeded so a run's
    figures are the same every time its events are folded."""

    def __init__(self, size: int = SAMPLES) -> None:
        self.size = size
        self.values: list[float] = []
        self.seen = 0
        self.max: float | None = None  # of every value, not only the sample's
        self._random = random.Random(0)
        self._shown: tuple[int, int, dict] | None = None  # seen, when, percentiles

    def percentiles(self, now_ns: int, final: bool) -> dict[str, float | None]:
        """p50, p95 and max of the sample; while the run goes, as of at most REFRESH_NS ago."""
        shown = self._shown
        if shown is None or (shown[0] != self.seen and (final or now_ns - shown[1] >= REFRESH_NS)):
            figures = percentiles(self.values)
            if self.max is not None:
                figures["max"] = round(self.max, 1)
            shown = self._shown = (self.seen, now_ns, figures)
        return shown[2]

    def add(self, value: float) -> None:
        self.seen += 1
        if self.max is None or value > self.max:
            self.max = value
        if len(self.values) < self.size:
            self.values.append(value)
            return
        slot = self._random.randrange(self.seen)
        if slot < self.size:
            self.values[slot] = value


def _remember(recent: OrderedDict, key: int, value: object) -> None:
    recent[key] = value
    if len(recent) > RECENT:
        recent.popitem(last=False)


@dataclass
class SustainedRun:
    """Everything recorded about one sustained run; the model's hooks are those of a burst's Run."""

    id: str
    plan: Plan
    start_ns: int
    target: str | None = None  # the id of the server it was sent to (loadgen/targets.py)
    server: dict = field(default_factory=dict)  # {"mode", "params", "capacity"}, as a burst's Run
    sent: OrderedDict[int, int] = field(default_factory=OrderedDict)  # recent: index -> sent
    begun: OrderedDict[int, int] = field(default_factory=OrderedDict)  # recent: index -> begun
    waiting: OrderedDict[int, int] = field(default_factory=OrderedDict)  # sent, neither begun nor replied
    serving: OrderedDict[int, None] = field(default_factory=OrderedDict)  # begun, not ended
    replied: OrderedDict[int, None] = field(default_factory=OrderedDict)
    sent_count: int = 0
    done: int = 0
    failed: int = 0
    late: int = 0
    peak_busy: int = 0
    first_sent_ns: int | None = None
    last_reply_ns: int | None = None
    latency: Sample = field(default_factory=Sample)
    waits: Sample = field(default_factory=Sample)
    ended_ns: int | None = None
    reason: str = ""
    state_ms: dict[str, float] = field(default_factory=dict)
    hub_blocked_ms: float = 0.0
    # The newest pids its requests began in: by them the model tells the server the run loads.
    served_by: OrderedDict[ProcessKey, None] = field(default_factory=OrderedDict)
    scene: None = None

    def record_sent(self, index: int, t_ns: int) -> None:
        if index in self.sent or index in self.replied:
            return
        self.sent_count += 1
        _remember(self.sent, index, t_ns)
        if index not in self.begun:
            _remember(self.waiting, index, t_ns)
        if self.first_sent_ns is None:
            self.first_sent_ns = t_ns
        if self.plan.mode == "rate" and t_ns - self.due_ns(index) > LATE_S * 1e9:
            self.late += 1

    def due_ns(self, index: int) -> int:
        """When request `index` of a fixed rate was due."""
        return self.start_ns + round(self.plan.due_s(index) * 1e9)

    def record_begin(self, index: int, t_ns: int, sent_ns: int, process: ProcessKey) -> None:
        if index in self.begun or index < 0:
            return
        _remember(self.begun, index, t_ns)
        self.served_by.pop(process, None)
        self.served_by[process] = None
        if len(self.served_by) > SERVED_BY:
            self.served_by.popitem(last=False)
        self.waiting.pop(index, None)
        self.waits.add((t_ns - sent_ns) / 1e6)
        _remember(self.serving, index, None)
        self.peak_busy = max(self.peak_busy, len(self.serving))

    def record_end(self, index: int, t_ns: int) -> None:
        self.serving.pop(index, None)

    def processes(self) -> Iterable[ProcessKey]:
        """The processes its requests began in, newest first."""
        return reversed(self.served_by)

    def record_reply(self, index: int, t_ns: int, status: int) -> None:
        if index in self.replied:
            return
        _remember(self.replied, index, None)
        self.waiting.pop(index, None)
        self.last_reply_ns = t_ns
        if 200 <= status < 400:
            self.done += 1
            sent = self.sent.get(index)
            if sent is not None:
                self.latency.add((t_ns - sent) / 1e6)  # of successful replies: a refusal is quick
        else:
            self.failed += 1

    def record_state(self, label: str, ms: float) -> None:
        self.state_ms[label] = self.state_ms.get(label, 0.0) + ms

    def finish(self, t_ns: int, reason: str = "") -> None:
        if self.ended_ns is None:
            self.ended_ns = t_ns
            self.reason = reason

    def window(self, now_ns: int) -> tuple[int, int] | None:
        """From its first request sent to its last reply or end (now while it runs), as a burst's
        Run: what a report of the run covers."""
        if self.first_sent_ns is None:
            return None
        end = now_ns if self.ended_ns is None else max(self.ended_ns, self.last_reply_ns or 0)
        return self.first_sent_ns, end

    def queued(self) -> int:
        """Requests sent that no task has picked up and no reply has closed."""
        return len(self.waiting)

    def state(self, now_ns: int) -> str:
        """running; then done, or failed when it was cut short (its reason says why)."""
        if self.ended_ns is None or (self.serving and now_ns - self.ended_ns < SETTLE_NS):
            return "running"
        return "failed" if self.reason else "done"

    def missed(self, now_ns: int) -> int | None:
        """Requests of a fixed rate that fell due and were not sent (every connection was busy).
        Exact once the run is over; while it runs, a lower bound (`sent` events still on their way)."""
        if self.plan.mode != "rate":
            return None
        if self.ended_ns is not None and not self.reason:
            return max(0, self.plan.scheduled() - self.sent_count)
        horizon = min(now_ns, self.ended_ns or now_ns) - GRACE_NS - self.start_ns
        return max(0, self.plan.due_by(horizon / 1e9) - self.sent_count)

    def summary(self, now_ns: int) -> dict:
        """The run as the API shows it: a burst's fields where they mean the same, and its own."""
        end = self.last_reply_ns if self.ended_ns is not None and self.last_reply_ns else now_ns
        elapsed_s = (end - self.first_sent_ns) / 1e9 if self.first_sent_ns is not None else 0
        plan = self.plan.view()
        return {
            "id": self.id,
            "kind": "sustained",
            "state": self.state(now_ns),
            "reason": self.reason or None,
            "label": _label(plan),
            "endpoint": f"{plan['method']} {plan['path']}",
            "count": self.sent_count,
            "ms": 0,
            "target": self.target,
            "server": dict(self.server),
            "plan": plan,
            "sent": self.sent_count,
            "done": self.done,
            "failed": self.failed,
            "in_flight": len(self.serving) + len(self.waiting),
            "late": self.late if self.plan.mode == "rate" else None,
            "missed": self.missed(now_ns),
            "peak_busy": self.peak_busy,
            "makespan_ms": None,
            "throughput_rps": round(self.done / elapsed_s, 1) if elapsed_s > 0 else None,
            "latency_ms": self.latency.percentiles(now_ns, final=self.ended_ns is not None),
            "queue_wait_ms": self.waits.percentiles(now_ns, final=self.ended_ns is not None),
            "sampled": max(self.latency.seen, self.waits.seen) > SAMPLES,
            "scene": None,
            "predicted": None,
            "verdict": None,
        }

    def requests(self) -> list[dict]:
        """Not kept one by one (see the module's docstring): the summary has the figures."""
        return []


def _label(plan: dict) -> str:
    how = f"{plan['rate']}/s" if plan["mode"] == "rate" else "closed loop"
    ramp = f", ramp {plan['ramp_s']} s" if plan["ramp_s"] else ""
    return f"{plan['method']} {plan['path']} · {plan['connections']} conn × {plan['seconds']} s, {how}{ramp}"
