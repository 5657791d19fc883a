"""The live model, fed datagrams and CPU readings by hand: no socket, no server."""

from __future__ import annotations

from dashboard.model.expiry import GONE_KEPT_NS
from dashboard.model.live import Model
from dashboard.model.sources import MAX_PROCESSES
from dashboard.model.tallies import UNATTRIBUTED
from dashboard.model.tasks import ProcessSample
from dashboard.model.views import state_view
from workload.agent.protocol import (
    Datagram,
    Source,
    Task,
    begin_event,
    decode_event,
    end_event,
    phase_event,
    reply_event,
    run_end_event,
    sent_event,
    stall_end_event,
    stall_event,
)

MS = 1_000_000
WORKER = Source("h", 10, "gunicorn-gthread", "worker")
LOADGEN = Source("h", 99, "loadgen", "loadgen")


class Feed:
    """Numbers datagrams per source as a real agent would."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.seqs: dict[int, int] = {}

    def send(self, source: Source, events=(), tasks=None, now=0, seq=None):
        if seq is None:
            seq = self.seqs.get(source.pid, -1) + 1
        self.seqs[source.pid] = seq
        self.model.apply(Datagram(source, seq, 0, now, tasks, tuple(map(decode_event, events))), now)


def serving_model(slots: int = 4) -> tuple[Model, Feed]:
    model = Model()
    info = {"mode": "gunicorn-gthread", "status": "serving", "capacity": slots, "pids": [10, 11]}
    model.set_server(info, slots)
    return model, Feed(model)


def test_a_process_appears_with_its_slots_before_any_request():
    model, feed = serving_model()
    feed.send(WORKER, tasks=())
    (process,) = state_view(model, 0)["processes"]
    assert (process["pid"], process["slots"], process["status"], process["tasks"]) == (10, 4, "alive", [])


def test_begin_and_end_move_a_task_through_its_states_and_count_the_request():
    model, feed = serving_model()
    feed.send(WORKER, [begin_event(5, 10 * MS, 0, "GET", "/io", "")], (Task(5, "T0", "thread", 5),))
    task = state_view(model, 30 * MS)["processes"][0]["tasks"][0]
    assert task["state"] == "running"
    assert task["request"] == {
        "id": "10-0",
        "path": "/io",
        "route": "/io",
        "started_ms": 10.0,
        "age_ms": 20.0,
    }
    assert model.counters(0)["in_service"] == 1
    feed.send(WORKER, [end_event(5, 40 * MS, 0, "200")])
    task = state_view(model, 50 * MS)["processes"][0]["tasks"][0]
    assert (task["state"], task["request"]) == ("idle", None)
    assert model.counters(0) == {"queued": 0, "in_service": 0, "done": 1, "failed": 0}


def sample(cpu_ms: float, runq_ms: float = 0, tid: int = 5) -> ProcessSample:
    return ProcessSample(int(cpu_ms * MS), {tid: (int(cpu_ms * MS), int(runq_ms * MS))})


def test_cpu_readings_tell_running_from_waiting_and_starved():
    model, feed = serving_model()
    feed.send(WORKER, [begin_event(5, 0, 0, "GET", "/cpu", "")], (Task(5, "T0", "thread", 5),))
    task = model.processes[10].tasks[5]
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
    task = model.processes[10].tasks[5]
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


def test_a_run_is_tracked_from_send_to_reply_with_exact_peak_and_queue_wait():
    model, feed = serving_model(slots=1)
    model.add_run("r1", "io", 2, 100)
    feed.send(LOADGEN, [sent_event("r1", 0, 0), sent_event("r1", 1, 0)])
    assert model.counters(0)["queued"] == 2
    feed.send(
        WORKER,
        [
            begin_event(5, 1 * MS, 0, "GET", "/io", "r1/0/0"),
            end_event(5, 101 * MS, 0, "200"),
            begin_event(5, 101 * MS, 1, "GET", "/io", "r1/1/0"),
            end_event(5, 201 * MS, 1, "200"),
        ],
        (Task(5, "T0", "thread", 5),),
    )
    feed.send(
        LOADGEN,
        [
            reply_event("r1", 0, 102 * MS, 200),
            reply_event("r1", 1, 202 * MS, 200),
            run_end_event("r1", 203 * MS, ""),
        ],
    )
    summary = model.runs["r1"].summary(300 * MS)
    assert summary["state"] == "done"
    assert summary["peak_busy"] == 1
    assert summary["makespan_ms"] == 202.0
    assert summary["queue_wait_ms"] == {"p50": 1.0, "p95": 101.0, "max": 101.0}
    assert summary["latency_ms"]["max"] == 202.0
    assert (summary["sent"], summary["done"], summary["failed"]) == (2, 2, 0)


def test_a_run_waits_for_the_agents_last_events_before_it_is_done():
    model, feed = serving_model()
    model.add_run("r1", "io", 1, 100)
    feed.send(
        LOADGEN,
        [sent_event("r1", 0, 0), reply_event("r1", 0, 100 * MS, 200), run_end_event("r1", 100 * MS, "")],
    )
    assert model.runs["r1"].state(150 * MS) == "running"  # the agent's `end` has not arrived
    assert model.runs["r1"].state(3_000 * MS) == "done"  # ... and never will: settled without it


def test_a_vanished_task_is_shown_gone_then_forgotten():
    model, feed = serving_model()
    feed.send(WORKER, tasks=(Task(5, "T0", "thread", 5),))
    feed.send(WORKER, tasks=(), now=10)
    assert model.processes[10].tasks[5].state == "gone"
    model.expire(10 + GONE_KEPT_NS + 1)
    assert 5 not in model.processes[10].tasks


def test_a_dead_process_fails_its_requests_in_flight():
    model, feed = serving_model()
    feed.send(WORKER, [begin_event(5, 0, 0, "GET", "/io", "")], (Task(5, "T0", "thread", 5),))
    model.apply_cpu(10, None, 5)
    assert model.processes[10].status == "gone"
    assert model.counters(5) == {"queued": 0, "in_service": 0, "done": 0, "failed": 1}


def test_replayed_and_missing_datagrams_are_counted():
    model, feed = serving_model()
    feed.send(WORKER, seq=0, tasks=())
    feed.send(WORKER, seq=3, tasks=())
    feed.send(WORKER, seq=3, tasks=())
    assert model.processes[10].lost == 2
    assert model.rejected == {"replayed": 1}


def test_processes_of_a_retired_server_leave_and_stay_away_and_its_counts_with_it():
    """Switching servers on stage: the new one's done and failed start from zero."""
    model, feed = serving_model()
    feed.send(WORKER, [begin_event(5, 0, 0, "GET", "/io", ""), end_event(5, MS, 0, "500")])
    feed.send(WORKER, [begin_event(5, 2 * MS, 1, "GET", "/io", ""), end_event(5, 3 * MS, 1, "200")])
    assert (model.done, model.failed) == (1, 1)
    model.set_server({"mode": "gunicorn-gthread", "status": "starting"}, 4, retired_pids=[10])
    feed.send(WORKER, [begin_event(5, 4 * MS, 2, "GET", "/io", ""), end_event(5, 5 * MS, 2, "200")])
    assert model.processes == {}
    assert model.counters(0) == {"queued": 0, "in_service": 0, "done": 0, "failed": 0}
    fresh = Source("h", 11, "gunicorn-gthread", "worker")
    feed.send(fresh, [begin_event(6, 6 * MS, 0, "GET", "/io", ""), end_event(6, 7 * MS, 0, "200")])
    model.set_server({"mode": "gunicorn-gthread", "status": "failed"}, 4)  # a status, not a new server
    assert model.counters(0)["done"] == 1


def test_green_tasks_wait_on_io_and_run_or_starve_by_who_holds_the_hub():
    """No OS thread of their own to read: a greenlet's state follows its declared phase and the
    agent's hub watch (gevent's page showed io requests as running at 0% CPU before this)."""
    model, feed = serving_model()
    green = Source("h", 11, "gunicorn-gevent", "worker")
    roster = (Task(1, "Greenlet-1", "greenlet", 11), Task(2, "Greenlet-2", "greenlet", 11))
    feed.send(
        green,
        [begin_event(1, 0, 0, "GET", "/io", ""), begin_event(2, 0, 1, "GET", "/cpu", "")],
        roster,
    )

    def states():
        return [(t["state"], t["why"]) for t in state_view(model, 0)["processes"][0]["tasks"]]

    assert states() == [("running", None), ("running", None)]
    feed.send(green, [phase_event(1, 1 * MS, "io")])
    assert states() == [("waiting", None), ("running", None)]
    feed.send(green, [phase_event(2, 2 * MS, "cpu"), stall_event(2, 3 * MS)])
    assert states() == [("starved", "hub"), ("running", None)]
    feed.send(green, [phase_event(1, 4 * MS, "io")])  # a late event cannot unblock the hub
    assert states() == [("starved", "hub"), ("running", None)]
    feed.send(green, [stall_end_event(2, 5 * MS), end_event(2, 5 * MS, 1, "200")])
    assert states() == [("waiting", None), ("idle", None)]


def test_a_flood_of_made_up_pids_cannot_lock_a_real_server_out():
    """Issue 10: datagrams from MAX_PROCESSES invented pids filled the model's sources, and a real
    worker that started after them was refused as `too_many_sources`. Pids that /proc says are
    gone make room; a cap full of live processes still refuses."""
    model, feed = serving_model()
    for pid in range(1000, 1000 + MAX_PROCESSES):
        feed.send(Source("h", pid, "gunicorn-gthread", "worker"), tasks=())
    feed.send(WORKER, tasks=())
    assert 10 not in model.processes and model.rejected == {"too_many_sources": 1}

    for pid in range(1000, 1000 + MAX_PROCESSES):
        model.apply_cpu(pid, None, 5 * MS)  # the sampler found no /proc entry for them
    feed.send(WORKER, tasks=())
    assert 10 in model.processes and len(model.processes) == MAX_PROCESSES
    assert 1000 not in model.processes  # the one gone longest made room


def test_the_totals_are_the_servers_tallies_summed_with_failures_no_server_took():
    """Issue 18: done and failed were kept beside the per-server tallies and set equal by hand in
    four places. They are now derived: two servers' requests, and a reply refused before any task
    took it (no server to charge), add up; a new server's start forgets the unattributed."""
    model, feed = serving_model()
    other = Source("h", 11, "gunicorn-gthread", "worker")
    feed.send(WORKER, [begin_event(5, 0, 0, "GET", "/io", ""), end_event(5, MS, 0, "200")])
    feed.send(other, [begin_event(6, 0, 0, "GET", "/io", ""), end_event(6, MS, 0, "500")])
    model.add_run("r1", "io", 1, 10)
    feed.send(LOADGEN, [sent_event("r1", 0, 0), reply_event("r1", 0, MS, 503)])
    assert model.tallies == {"h:10": {"done": 1, "failed": 0}, "h:11": {"done": 0, "failed": 1},
                             UNATTRIBUTED: {"done": 0, "failed": 1}}  # fmt: skip
    assert model.counters(MS) == {"queued": 0, "in_service": 0, "done": 1, "failed": 2}
    model.set_server({"mode": "gunicorn-gthread", "status": "starting"}, 4)
    assert (model.done, model.failed) == (1, 1)
