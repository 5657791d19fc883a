"""The queueing law on a real gunicorn gthread server of 1 worker × 4 threads."""

from __future__ import annotations

import math

import pytest

# A makespan bound, judged alone (make test runs solo tests after the others).
pytestmark = [pytest.mark.integration, pytest.mark.solo]

COUNT, CAPACITY, SERVICE_MS = 12, 4, 400


@pytest.fixture(scope="module")
def burst(dashboard):
    run = dashboard.fire("io", COUNT, SERVICE_MS)
    return dashboard.wait_run(run)


def test_burst_larger_than_pool_fills_every_slot_and_no_more(burst):
    """peak_busy equals the pool's capacity: computed from the agent's start/end times."""
    assert burst["sent"] == COUNT
    assert burst["done"] == COUNT
    assert burst["failed"] == 0
    assert burst["peak_busy"] == CAPACITY


def test_makespan_follows_ceil_n_over_c_times_s(burst):
    """ceil(12 / 4) × 400 ms = 1.2 s, give or take the server's own overhead."""
    law = math.ceil(COUNT / CAPACITY) * SERVICE_MS
    assert law <= burst["makespan_ms"] < law + 400


def test_requests_beyond_capacity_wait_one_and_two_service_times(burst):
    """The first 4 start at once; the next 4 queue ~400 ms, the last 4 ~800 ms."""
    waits = sorted(r["queue_wait_ms"] for r in burst["requests"])
    first, second, third = waits[:4], waits[4:8], waits[8:]
    assert all(w < 150 for w in first), waits
    assert all(SERVICE_MS - 50 <= w <= SERVICE_MS + 200 for w in second), waits
    assert all(2 * SERVICE_MS - 50 <= w <= 2 * SERVICE_MS + 250 for w in third), waits
    assert burst["queue_wait_ms"]["max"] == max(waits)


def test_latency_is_queue_wait_plus_service(burst):
    for request in burst["requests"]:
        assert request["status"] == 200
        service = request["latency_ms"] - request["queue_wait_ms"]
        assert SERVICE_MS - 5 <= service <= SERVICE_MS + 150, request


def test_pool_is_idle_again_with_every_request_counted(dashboard, burst):
    state = dashboard.get("/api/state").json()
    assert state["counters"]["in_service"] == 0
    assert state["counters"]["queued"] == 0
    assert state["counters"]["done"] >= COUNT
    (process,) = [p for p in state["processes"] if p["status"] == "alive"]
    assert process["slots"] == CAPACITY
    assert len(process["tasks"]) == CAPACITY
    assert {t["state"] for t in process["tasks"]} == {"idle"}
    assert {t["name"] for t in process["tasks"]} == {f"ThreadPoolExecutor-0_{i}" for i in range(4)}
