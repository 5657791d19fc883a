"""Hub stalls (model/stalls.py): who holds a green server's hub runs, the others starve."""

from __future__ import annotations

from dashboard.model.views import state_view
from tests.test_model import LOADGEN, MS, serving_model
from threadpulse_agent.protocol import (
    Source,
    Task,
    begin_event,
    end_event,
    make_tag,
    phase_event,
    run_end_event,
    stall_end_event,
    stall_event,
)


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


def test_a_run_that_ends_in_a_stall_is_held_until_its_end_and_the_others_the_whole_stall():
    """The hub time a run was held up is the verdict's figure for a blocked hub: a run that ends
    while the stall goes on counts it only until its end, and that must not cut the count of the
    other runs the same stall holds up (crediting the ending run alone, then moving the stall's
    start on, would charge them only from that end)."""
    model, feed = serving_model()
    model.add_run("r1", "io", 1, 0)
    model.add_run("r2", "io", 1, 0)
    green = Source("h", 11, "gunicorn-gevent", "worker")
    roster = tuple(Task(n, f"Greenlet-{n}", "greenlet", 11) for n in (1, 2, 3))
    begins = [begin_event(n, 0, n, "GET", "/io", make_tag(f"r{n}", 0, 0)) for n in (1, 2)]
    feed.send(green, [*begins, begin_event(3, 0, 3, "GET", "/block", "")], roster)
    feed.send(green, [stall_event(3, 10 * MS)])
    feed.send(LOADGEN, [run_end_event("r1", 50 * MS, "")])
    feed.send(green, [stall_end_event(3, 110 * MS)])
    assert (model.runs["r1"].hub_blocked_ms, model.runs["r2"].hub_blocked_ms) == (40.0, 100.0)
