"""A run: one burst of requests fired by the load generator, and its figures.

Client-side times (sent, reply) come from the load generator, server-side times (begin, end)
from the agent; all are on the one host's monotonic clock, so queue wait = begin - sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dashboard.model.stats import peak_overlap, percentiles
from dashboard.model.tasks import ProcessKey
from dashboard.model.verdict import Prediction, Seen, verdict

# After the load generator says a run is over, how long to wait for the agent's last `end`
# events (they are flushed every 50 ms) before the run is declared done without them.
SETTLE_NS = 2_000_000_000


@dataclass
class Run:
    """Everything recorded about one burst."""

    id: str
    endpoint: str
    count: int
    ms: int
    sent: dict[int, int] = field(default_factory=dict)
    begun: dict[int, int] = field(default_factory=dict)
    ended: dict[int, int] = field(default_factory=dict)
    replies: dict[int, tuple[int, int]] = field(default_factory=dict)
    ended_ns: int | None = None
    reason: str = ""
    # Set when a scene fired the run: its id, the law's prediction, and the server's workers.
    scene: str | None = None
    title: str | None = None  # the scene's title
    predicted: Prediction | None = None
    workers: int = 1
    # What the model saw during the run, for the verdict: the worker each request began in,
    # task time per state ("starved:gil", ...), time the hub of a green server was held.
    worker: dict[int, ProcessKey] = field(default_factory=dict)
    state_ms: dict[str, float] = field(default_factory=dict)
    hub_blocked_ms: float = 0.0
    # The server it was fired at ({"mode", "params", "capacity"}), for the results table.
    server: dict = field(default_factory=dict)
    target: str | None = None  # the id of the server it was sent to (loadgen/targets.py)

    def record_sent(self, index: int, t_ns: int) -> None:
        if 0 <= index < self.count:
            self.sent[index] = t_ns

    def record_begin(self, index: int, t_ns: int, sent_ns: int, process: ProcessKey) -> None:
        if 0 <= index < self.count:
            self.begun[index] = t_ns
            self.worker[index] = process
            self.sent.setdefault(index, sent_ns)

    def record_state(self, label: str, ms: float) -> None:
        """A task serving this run spent `ms` in state `label` (from /proc, see classify.py)."""
        self.state_ms[label] = self.state_ms.get(label, 0.0) + ms

    def record_end(self, index: int, t_ns: int) -> None:
        if index in self.begun:
            self.ended[index] = t_ns

    def processes(self) -> Iterable[ProcessKey]:
        """The processes its requests began in."""
        return self.worker.values()

    def record_reply(self, index: int, t_ns: int, status: int) -> None:
        if 0 <= index < self.count:
            self.replies[index] = (t_ns, status)

    def finish(self, t_ns: int, reason: str = "") -> None:
        """The load generator is done with this run (or it died, with a reason)."""
        if self.ended_ns is None:
            self.ended_ns = t_ns
            self.reason = reason

    def queued(self) -> int:
        """Requests sent that no task has picked up and no reply has closed."""
        return sum(1 for i in self.sent if i not in self.begun and i not in self.replies)

    def state(self, now_ns: int) -> str:
        """running; then done, or failed when it was cut short (its reason says why)."""
        if self.ended_ns is None:
            return "running"
        settled = all(i in self.ended for i, (_, status) in self.replies.items() if _ok(status))
        # A connection cut (status 0) may be its server dying: the death, noticed apart, names the
        # reason (dead_target.py), so the run does not read "done" in between.
        cut = not self.reason and any(status == 0 for _, status in self.replies.values())
        if (cut or not settled) and now_ns - self.ended_ns < SETTLE_NS:
            return "running"
        return "failed" if self.reason else "done"

    def summary(self, now_ns: int) -> dict:
        """The run as the API shows it."""
        state = self.state(now_ns)
        done = sum(1 for _, status in self.replies.values() if _ok(status))
        intervals = [(t, self.ended.get(i, now_ns)) for i, t in self.begun.items()]
        latency = [(t - self.sent[i]) / 1e6 for i, (t, _) in self.replies.items() if i in self.sent]
        waits = [(t - self.sent[i]) / 1e6 for i, t in self.begun.items() if i in self.sent]
        makespan = None
        if state == "done" and self.replies and self.sent:
            makespan = round((max(t for t, _ in self.replies.values()) - min(self.sent.values())) / 1e6, 1)
        summary = {
            "id": self.id,
            "state": state,
            "reason": self.reason or None,
            "endpoint": self.endpoint,
            "count": self.count,
            "ms": self.ms,
            "sent": len(self.sent),
            "done": done,
            "failed": len(self.replies) - done,
            "peak_busy": peak_overlap(intervals),
            "makespan_ms": makespan,
            "latency_ms": percentiles(latency),
            "queue_wait_ms": percentiles(waits),
            "server": dict(self.server),
            "scene": self.scene,
            "title": self.title,
            "predicted": None if self.predicted is None else self.predicted.view(),
        }
        summary["verdict"] = None if self.predicted is None else verdict(summary, self.predicted, self.seen())
        return summary

    def window(self, now_ns: int) -> tuple[int, int] | None:
        """From its first request sent to its last reply or end (now while it runs); None before
        anything was sent. What a report of the run covers."""
        if not self.sent:
            return None
        ends = [t for t, _ in self.replies.values()] + list(self.ended.values())
        last = now_ns if self.ended_ns is None else max([self.ended_ns, *ends])
        return min(self.sent.values()), last

    def seen(self) -> Seen:
        """What the model saw of this run, as the verdict takes it."""
        served: dict[int, int] = {}  # per pid: a run goes to one server, whose workers share a host
        for _, pid in self.worker.values():
            served[pid] = served.get(pid, 0) + 1
        return Seen(self.workers, served, dict(self.state_ms), self.hub_blocked_ms)

    def requests(self) -> list[dict]:
        """Per request, in send order: when it was sent, how long it queued and took in all."""
        out = []
        for index, sent in sorted(self.sent.items(), key=lambda item: item[1]):
            begun, reply = self.begun.get(index), self.replies.get(index)
            out.append(
                {
                    "index": index,
                    "queue_wait_ms": None if begun is None else round((begun - sent) / 1e6, 1),
                    "latency_ms": None if reply is None else round((reply[0] - sent) / 1e6, 1),
                    "status": None if reply is None else reply[1],
                }
            )
        return out


def _ok(status: int) -> bool:
    return 200 <= status < 400
