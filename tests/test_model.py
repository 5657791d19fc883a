"""The live model, fed datagrams and CPU readings by hand: no socket, no server."""

from __future__ import annotations

from dashboard.model.live import Model
from dashboard.model.views import state_view
from threadpulse_agent.protocol import (
    Datagram,
    Source,
    Task,
    begin_event,
    decode_event,
    end_event,
    reply_event,
    run_end_event,
    sent_event,
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
    model = Model("h")
    info = {"mode": "gunicorn-gthread", "status": "serving", "capacity": slots, "pids": [10, 11]}
    model.set_server(info, slots)
    return model, Feed(model)


def test_a_process_appears_with_its_slots_before_any_request():
    model, feed = serving_model()
    feed.send(WORKER, tasks=())
    (process,) = state_view(model, 0)["processes"]
    assert (process["pid"], process["slots"], process["status"], process["tasks"]) == (10, 4, "alive", [])


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
