"""Judging a task from /proc (model/cpu.py): its share of a core and running, waiting or starved."""

from __future__ import annotations

from dashboard.model.tasks import ProcessSample
from tests.test_model import MS, WORKER, serving_model
from threadpulse_agent.protocol import (
    Task,
    begin_event,
    end_event,
    phase_event,
)


def sample(cpu_ms: float, runq_ms: float = 0, tid: int = 5) -> ProcessSample:
    return ProcessSample(int(cpu_ms * MS), {tid: (int(cpu_ms * MS), int(runq_ms * MS))})


def test_cpu_readings_tell_running_from_waiting_and_starved():
    model, feed = serving_model()
    feed.send(WORKER, [begin_event(5, 0, 0, "GET", "/cpu", "")], (Task(5, "T0", "thread", 5),))
    task = model.sources.local(10).tasks[5]
    model.apply_cpu(10, sample(0), 0)
    model.apply_cpu(10, sample(90), 100 * MS)
    assert (task.state, task.why) == ("running", None)
    feed.send(WORKER, [phase_event(5, 100 * MS, "cpu")])
    model.apply_cpu(10, sample(115), 200 * MS)  # 25% of a core, blocked the rest: the GIL
    assert (task.state, task.why) == ("starved", "gil")
    model.apply_cpu(10, sample(140, runq_ms=70), 300 * MS)  # runnable most of the window: no core
    assert (task.state, task.why) == ("starved", "core")
    feed.send(WORKER, [phase_event(5, 300 * MS, "io")])
    model.apply_cpu(10, sample(141, runq_ms=70), 400 * MS)
    assert (task.state, task.why) == ("waiting", None)
    assert round(task.cpu_pct) == 35  # 141 ms of CPU over 400 ms
    assert task.state_ms == {"running": 100.0, "starved:gil": 100.0, "starved:core": 100.0, "waiting": 100.0}


def test_only_the_part_of_a_window_since_the_request_began_is_judged():
    """A sync worker idle in accept() for the first 60 ms of a window, then computing 38 of the
    40 ms left, is running: judged over the whole window it was "blocked in a CPU phase", which
    the page called the GIL, in a process with one request thread (the stage's processes scene)."""
    model, feed = serving_model(slots=1)
    feed.send(WORKER, tasks=(Task(5, "T0", "thread", 5),))
    task = model.sources.local(10).tasks[5]
    model.apply_cpu(10, sample(0), 0)
    feed.send(WORKER, [begin_event(5, 60 * MS, 0, "GET", "/cpu", ""), phase_event(5, 60 * MS, "cpu")])
    model.apply_cpu(10, sample(38), 100 * MS)
    assert (task.state, task.why) == ("running", None)
    feed.send(WORKER, [end_event(5, 150 * MS, 0, "200")])
    feed.send(WORKER, [begin_event(5, 197 * MS, 1, "GET", "/cpu", ""), phase_event(5, 197 * MS, "cpu")])
    model.apply_cpu(10, sample(88), 200 * MS)  # 3 ms of it: too little to judge, still as begun
    assert (task.state, task.why) == ("running", None)
    model.apply_cpu(10, sample(113), 300 * MS)  # then 25 ms of 100 and blocked: starved after all
    assert (task.state, task.why) == ("starved", "gil")
