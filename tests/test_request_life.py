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
    assert model.processes[10].status == "gone"
    assert model.counters(5) == {"queued": 0, "in_service": 0, "done": 0, "failed": 1}
