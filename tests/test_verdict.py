"""The verdict: measured set against predicted, and why they differ from what the model saw.
Hand-built inputs; the scenes' end-to-end tests check it on real servers."""

from __future__ import annotations

from dashboard.model.live import Model
from dashboard.model.tasks import ProcessSample
from dashboard.model.verdict import Prediction, Seen, verdict
from tests.test_model import LOADGEN, MS, WORKER, Feed
from threadpulse_agent.protocol import (
    Task,
    begin_event,
    end_event,
    make_tag,
    phase_event,
    run_end_event,
    stall_end_event,
    stall_event,
)


def summary(makespan_ms: float | None, peak_busy: int, count: int = 16, **over) -> dict:
    base = {"state": "done", "reason": None, "count": count, "done": count, "failed": 0}
    return {**base, "makespan_ms": makespan_ms, "peak_busy": peak_busy, **over}


def test_no_verdict_while_the_run_runs():
    assert verdict(summary(None, 3, state="running"), Prediction(1000, 8), Seen()) is None


def test_a_run_within_the_slack_is_as_predicted_and_says_how():
    """Issue 11's example: "2.1 s as predicted: one request at a time"."""
    said = verdict(summary(2080.0, 1, count=4), Prediction(2000, 1), Seen())
    assert said == "2.1 s as predicted: one request at a time"


def test_a_slow_gthread_run_names_the_worker_that_took_more_than_its_share():
    """gunicorn #908: a gthread worker accepts while its threads are busy; the verdict says which
    worker took most and that another took few, as the model saw them begin."""
    seen = Seen(workers=4, served={4120: 11, 4121: 3, 4122: 2})
    said = verdict(summary(1900.0, 8), Prediction(1000, 8), seen)
    assert said == "1.9 s, not 1.0 s: worker 4120 took 11 of 16 requests while another took none"
    assert verdict(summary(1900.0, 8), Prediction(1000, 8), Seen(workers=2, served={1: 13, 2: 3})) == (
        "1.9 s, not 1.0 s: worker 1 took 13 of 16 requests while another only 3"
    )


def test_an_even_spread_is_not_blamed():
    seen = Seen(workers=4, served={1: 4, 2: 4, 3: 4, 4: 4})
    said = verdict(summary(1700.0, 8), Prediction(1000, 8), seen)
    assert said == "1.7 s, not 1.0 s: 0.7 s more than the law, and nothing seen to explain it"


def test_the_gil_verdict_names_the_time_threads_starved_for_it():
    """The GIL scene: four CPU-bound threads of one process; the starved time is what the
    model classified from /proc during the run."""
    seen = Seen(state_ms={"starved:gil": 4300.0, "running": 2000.0})
    said = verdict(summary(2900.0, 4, count=4), Prediction(2000, 4), seen)
    assert said == "2.9 s, not 2.0 s: threads waited 4.3 s in all for the GIL"
    said = verdict(summary(2100.0, 4, count=4), Prediction(2000, 4), seen)
    assert said == "2.1 s as predicted: 4 at once; threads waited 4.3 s in all for the GIL"


def test_a_blocked_hub_and_a_busy_machine_are_both_said_strongest_first():
    seen = Seen(state_ms={"starved:core": 900.0}, hub_blocked_ms=1800.0)
    said = verdict(summary(3600.0, 4, count=4), Prediction(2500, 4), seen)
    assert said == (
        "3.6 s, not 2.5 s: the hub was blocked 1.8 s by work that did not yield; "
        "requests waited 0.9 s in all for a free core"
    )


def test_fewer_at_once_than_predicted_is_a_reason():
    said = verdict(summary(2000.0, 2, count=8), Prediction(1000, 4), Seen())
    assert said == "2.0 s, not 1.0 s: only 2 at once, not 4"


def test_a_faster_run_says_what_ran_at_once():
    said = verdict(summary(500.0, 8, count=8), Prediction(1000, 4), Seen())
    assert said == "0.5 s, faster than the 1.0 s predicted: 8 at once, not 4"


def test_a_cut_short_or_failing_run_gets_no_law_figure():
    cut = summary(None, 2, state="failed", reason="cut short: the server was switched", done=3)
    assert verdict(cut, Prediction(1000, 8), Seen()) == (
        "cut short (cut short: the server was switched): 3 of 16 requests done"
    )
    failing = summary(1000.0, 8, done=14, failed=2)
    assert verdict(failing, Prediction(1000, 8), Seen()) == (
        "2 of 16 requests failed, so the law's figure does not apply"
    )


def test_the_model_records_per_run_who_served_what_starved_and_how_long_the_hub_was_held():
    """The verdict's inputs come from the one fold of events: each begin names its worker, /proc
    windows of a request's task count for its run, and a stall's length goes to every run with a
    request in the stalled process."""
    model = Model("h")
    feed = Feed(model)
    model.add_run("r1", "mixed", 2, 1000)
    model.play_scene({"id": "green-blocked"}, "r1", Prediction(1500, 2), workers=1)
    roster = (Task(1, "T1", "thread", 1), Task(2, "T2", "thread", 2))
    begins = [begin_event(n, n * MS, n, "GET", "/mixed", make_tag("r1", n - 1, 0)) for n in (1, 2)]
    feed.send(WORKER, begins, roster)
    feed.send(WORKER, [phase_event(2, 3 * MS, "cpu")])
    model.apply_cpu(10, ProcessSample(0, {2: (0, 0)}), 0)
    model.apply_cpu(10, ProcessSample(0, {2: (10 * MS, 0)}), 100 * MS)  # 10% of a core: the GIL
    feed.send(WORKER, [stall_event(1, 10 * MS), end_event(1, 500 * MS, 1, "200")])
    feed.send(WORKER, [end_event(2, 505 * MS, 2, "200"), stall_end_event(1, 510 * MS)])  # after both
    run = model.runs["r1"]
    assert run.seen() == Seen(1, {10: 2}, {"starved:gil": 100.0}, 500.0)
    model.add_run("r2", "mixed", 1, 1000)
    feed.send(WORKER, [begin_event(1, 600 * MS, 3, "GET", "/mixed", make_tag("r2", 0, 0))])
    feed.send(WORKER, [begin_event(2, 650 * MS, 4, "GET", "/io", "")])  # to be starved by the stall
    feed.send(WORKER, [stall_event(1, 700 * MS)])
    feed.send(LOADGEN, [run_end_event("r2", 900 * MS, "")])  # the stall outlasts the run's end
    assert model.sources.local(10).tasks[2].why == "hub"  # still starved: only the count moved on
    feed.send(WORKER, [stall_end_event(1, 1000 * MS)])
    assert model.runs["r2"].hub_blocked_ms == 200.0
    assert (run.scene, model.scene) == ("green-blocked", {"id": "green-blocked", "run": "r1"})
