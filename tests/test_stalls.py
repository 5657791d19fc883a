"""Hub stalls (model/stalls.py): who holds a green server's hub runs, the others starve."""

from __future__ import annotations

from dashboard.model.views import state_view
from tests.test_model import MS, serving_model
from workload.agent.protocol import (
    Source,
    Task,
    begin_event,
    end_event,
    phase_event,
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
