"""The per-server tallies (model/tallies.py) that the totals are summed from."""

from __future__ import annotations

from dashboard.model.tallies import UNATTRIBUTED
from tests.test_model import LOADGEN, MS, WORKER, serving_model
from threadpulse_agent.protocol import (
    Source,
    begin_event,
    end_event,
    reply_event,
    sent_event,
)


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
