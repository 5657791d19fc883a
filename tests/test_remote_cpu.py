"""Another host's servers in the model (issue 21): its sampler's readings judged as the dashboard's
own /proc readings are, and its times read on the dashboard's clock though its own is 5,000 s ahead."""

from __future__ import annotations

import itertools

from dashboard.model.live import Model
from dashboard.model.views import state_view
from threadpulse_agent.protocol import (
    Datagram,
    ProcessGone,
    Source,
    Task,
    begin_event,
    decode_event,
    process_cpu_event,
    process_gone_event,
    thread_cpu_event,
)

MS = 1_000_000
AHEAD = 5_000_000 * MS  # h2's monotonic clock: `unshare --time --monotonic 5000`
DELAY = 300_000  # each datagram's time on the way
WORKER = Source("h2", 1, "launched", "worker")  # pid 1 in its own PID namespace
SAMPLER = Source("h2", 7, "sampler", "sampler")


class Host:
    """h2's sources sending at its clock's time `t` (the dashboard's + AHEAD)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.seqs = itertools.count()

    def send(self, source: Source, at: int, events=(), tasks=None) -> None:
        """A datagram sent at the dashboard's `at` (h2's `at + AHEAD`), received DELAY later."""
        events = tuple(decode_event(event) for event in events)
        datagram = Datagram(source, next(self.seqs), 0, at + AHEAD, tasks, events)
        self.model.apply(datagram, at + DELAY)

    def reading(self, at: int, on_cpu_ms: float, runnable_ms: float = 0) -> None:
        """The sampler's look at h2's pid 1 and its thread 5, at the dashboard's `at`."""
        t = at + AHEAD
        events = [thread_cpu_event(1, 5, t, int(on_cpu_ms * MS), int(runnable_ms * MS))]
        self.send(SAMPLER, at, [*events, process_cpu_event(1, t, int(on_cpu_ms * MS))])


def test_a_remote_hosts_readings_are_judged_as_this_hosts_and_its_times_aligned():
    """The sampler's on-CPU and runnable ns tell running from starved:core as /proc does here; a
    request begun 2 s before it is looked at is 2 s old (to within the datagrams' delay), not 5,000 s
    younger; a process the sampler saw go is gone."""
    model = Model("dash")
    h2 = Host(model)
    start = 1_000 * 1_000 * MS  # the dashboard's clock: 1,000 s since its boot
    h2.send(
        WORKER, start, [begin_event(5, start + AHEAD, 0, "GET", "/cpu", "")], (Task(5, "T0", "thread", 5),)
    )
    h2.reading(start + 100 * MS, 0)
    h2.reading(start + 200 * MS, 95)
    (process,) = model.processes.values()  # h2's pid 1
    task = process.tasks[5]
    assert (task.state, task.why) == ("running", None)
    h2.reading(start + 300 * MS, 120, runnable_ms=70)  # runnable most of the window: no core
    assert (task.state, task.why) == ("starved", "core")
    h2.reading(start + 250 * MS, 0)  # older than the last reading taken: dropped
    assert (task.state, round(task.cpu_pct)) == ("starved", 60)  # 120 ms over 200 ms

    (shown,) = state_view(model, start + 2_000 * MS)["processes"]  # before this host's pid 1 came
    (request,) = [t["request"] for t in shown["tasks"] if t["request"]]
    assert 2_000 - 1 <= request["age_ms"] <= 2_000

    # A runner on the dashboard's own host: its processes' /proc is the collector's to read.
    model.apply(Datagram(Source("dash", 1, "launched", "worker"), 0, 0, start, (), ()), start)
    sampler_here = Source("dash", 7, "sampler", "sampler")
    model.apply(Datagram(sampler_here, 0, 0, start, None, (ProcessGone(1, start),)), start)
    assert model.sources.local(1).gone_ns is None

    h2.send(SAMPLER, start + 400 * MS, [process_gone_event(1, start + 400 * MS + AHEAD)])
    assert process.gone_ns == start + 400 * MS + DELAY  # aligned, late by the least delay seen
