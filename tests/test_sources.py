"""Admission of datagrams (model/sources.py): sources, sequence and loss, retired servers, and a
bounded number of sources that junk cannot lock real servers out of."""

from __future__ import annotations

from dashboard.model.sources import MAX_PROCESSES
from tests.test_model import MS, WORKER, serving_model
from threadpulse_agent.protocol import (
    Source,
    begin_event,
    end_event,
)


def test_replayed_and_missing_datagrams_are_counted():
    model, feed = serving_model()
    feed.send(WORKER, seq=0, tasks=())
    feed.send(WORKER, seq=3, tasks=())
    feed.send(WORKER, seq=3, tasks=())
    assert model.sources.local(10).lost == 2
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


def test_a_flood_of_made_up_pids_cannot_lock_a_real_server_out():
    """Issue 10: datagrams from MAX_PROCESSES invented pids filled the model's sources, and a real
    worker that started after them was refused as `too_many_sources`. Pids that /proc says are
    gone make room; a cap full of live processes still refuses."""
    model, feed = serving_model()
    for pid in range(1000, 1000 + MAX_PROCESSES):
        feed.send(Source("h", pid, "gunicorn-gthread", "worker"), tasks=())
    feed.send(WORKER, tasks=())
    assert model.sources.local(10) is None and model.rejected == {"too_many_sources": 1}

    for pid in range(1000, 1000 + MAX_PROCESSES):
        model.apply_cpu(pid, None, 5 * MS)  # the sampler found no /proc entry for them
    feed.send(WORKER, tasks=())
    assert model.sources.local(10) is not None and len(model.processes) == MAX_PROCESSES
    assert model.sources.local(1000) is None  # the one gone longest made room
