"""A request's life in a task (model/request_life.py): begun, phased, ended or failed with its
task or process, fed through the model's one door."""

from __future__ import annotations

from dashboard.model.views import state_view
from tests.test_model import MS, WORKER, serving_model
from threadpulse_agent.protocol import (
    Task,
    begin_event,
    end_event,
)


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


def test_a_dead_process_fails_its_requests_in_flight():
    model, feed = serving_model()
    feed.send(WORKER, [begin_event(5, 0, 0, "GET", "/io", "")], (Task(5, "T0", "thread", 5),))
    model.apply_cpu(10, None, 5)
    assert model.sources.local(10).status == "gone"
    assert model.counters(5) == {"queued": 0, "in_service": 0, "done": 0, "failed": 1}


def test_a_request_whose_end_follows_the_roster_that_dropped_its_thread_is_counted_once():
    """Found by the per-Python test (issue 19): under the Flask dev server a thread made for one
    request exits as it answers, so the roster leaving it out can come before its End. The model
    failed the request when the thread went, then counted the End as well: done + failed ran
    above the requests served."""
    model, feed = serving_model()
    feed.send(WORKER, [begin_event(5, 10 * MS, 0, "GET", "/io", "")], (Task(5, "T0", "thread", 5),))
    feed.send(WORKER, [end_event(5, 40 * MS, 0, "200")], (Task(6, "T1", "thread", 6),))
    assert model.counters(50 * MS) == {"queued": 0, "in_service": 0, "done": 1, "failed": 0}
    feed.send(WORKER, [begin_event(6, 60 * MS, 1, "GET", "/io", "")], (Task(6, "T1", "thread", 6),))
    feed.send(WORKER, [], (Task(7, "T2", "thread", 7),))
    feed.send(WORKER, [end_event(6, 70 * MS, 1, "500")])
    assert model.counters(80 * MS) == {"queued": 0, "in_service": 0, "done": 1, "failed": 1}
    [span_first, span_second] = model.spans.since(0, 80 * MS, 10)
    assert (span_first.status, span_second.status) == ("200", "500")
