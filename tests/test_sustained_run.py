"""A sustained run in the model: a burst's figures in bounded memory, and a fixed rate's late and
missed sends counted from its schedule."""

from __future__ import annotations

from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from dashboard.model.live import Model
from dashboard.model.sustained_run import RECENT, SAMPLES, SERVED_BY, Sample, SustainedRun

MS = 1_000_000
S = 1_000 * MS


def closed(connections: int = 4) -> Plan:
    return Plan(HttpRequest("GET", "/hello"), connections, 10)


def test_figures_of_a_closed_loop_from_its_events():
    run = SustainedRun("r1", closed(), 0)
    for i in range(10):
        run.record_sent(i, i * 10 * MS)
        run.record_begin(i, i * 10 * MS + 2 * MS, i * 10 * MS, ("h", 1))
        run.record_end(i, i * 10 * MS + 7 * MS)
        run.record_reply(i, i * 10 * MS + 8 * MS, 200 if i else 500)
    run.finish(100 * MS)
    summary = run.summary(100 * MS)
    assert (summary["state"], summary["sent"], summary["done"], summary["failed"]) == ("done", 10, 9, 1)
    assert summary["latency_ms"] == {"p50": 8.0, "p95": 8.0, "max": 8.0}
    assert summary["queue_wait_ms"]["max"] == 2.0 and summary["peak_busy"] == 1
    assert summary["in_flight"] == 0 and summary["missed"] is None and summary["late"] is None


def test_memory_stays_bounded_however_long_the_run():
    """Ten minutes at 2,000 requests a second must not keep a record per request."""
    run = SustainedRun("r1", closed(), 0)
    for i in range(3 * RECENT):
        run.record_sent(i, i)
        run.record_begin(
            i, i + 1, i, ("h", 1000 + i)
        )  # as if each worker served one request and was replaced
        run.record_end(i, i + 2)
        run.record_reply(i, i + 3, 200)
    assert max(len(run.sent), len(run.begun), len(run.replied), len(run.serving)) <= RECENT
    assert len(run.served_by) == SERVED_BY and next(iter(run.processes()))[1] == 1000 + 3 * RECENT - 1
    assert run.summary(0)["done"] == 3 * RECENT
    sample = Sample(size=100)
    for value in range(10_000):
        sample.add(value)
    assert len(sample.values) == 100 and sample.seen == 10_000 and sample.max == 9_999
    assert sample.percentiles(0, final=True)["max"] == 9_999  # exact, not the sample's
    assert 4_000 < sample.percentiles(0, final=True)["p50"] < 6_000 and SAMPLES >= 10_000


def test_a_fixed_rate_counts_late_sends_from_the_schedule_and_missed_ones_at_the_end():
    """Request k is due at start + due_s(k); sent more than 10 ms after is late; the schedule's
    slots never sent are missed (exact when the run is over)."""
    plan = Plan(HttpRequest("GET", "/hello"), 2, 1, "rate", 10)  # due at 0.1 s, 0.2 s, ... 1.0 s
    run = SustainedRun("r1", plan, 5 * S)
    run.record_sent(0, 5 * S + 100 * MS)  # on time
    run.record_sent(1, 5 * S + 230 * MS)  # 30 ms late
    for k in range(2, 7):
        run.record_sent(k, 5 * S + (k + 1) * 100 * MS + MS)
    assert run.late == 1
    run.finish(6 * S)
    summary = run.summary(7 * S)
    assert (summary["sent"], summary["late"], summary["missed"]) == (7, 1, 3)


def test_the_model_counts_a_sustained_runs_queue_and_lets_stop_end_it():
    model = Model("h")
    model.set_server(
        {"mode": "gunicorn-gthread", "params": {"workers": 1}, "capacity": 4, "status": "serving"}, 4
    )
    model.add_sustained("r1", closed(), 0, "managed", managed=True)
    assert model.runs["r1"].summary(0)["server"] == {
        "mode": "gunicorn-gthread",
        "params": {"workers": 1},
        "capacity": 4,
    }
    run = model.runs["r1"]
    run.record_sent(0, 1)
    run.record_sent(1, 2)
    assert model.counters(3)["queued"] == 2
    model.end_run("r1", 5, "stopped by the presenter")
    assert model.runs["r1"].summary(5)["state"] == "failed"
