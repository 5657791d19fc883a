"""Forgetting the gone (model/expiry.py): shown gone a while, then forgotten."""

from __future__ import annotations

from dashboard.model.expiry import GONE_KEPT_NS
from tests.test_model import WORKER, serving_model
from threadpulse_agent.protocol import (
    Task,
)


def test_a_vanished_task_is_shown_gone_then_forgotten():
    model, feed = serving_model()
    feed.send(WORKER, tasks=(Task(5, "T0", "thread", 5),))
    feed.send(WORKER, tasks=(), now=10)
    assert model.sources.local(10).tasks[5].state == "gone"
    model.expire(10 + GONE_KEPT_NS + 1)
    assert 5 not in model.sources.local(10).tasks
