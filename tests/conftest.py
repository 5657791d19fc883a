"""Fixtures: a real dashboard with a real gunicorn gthread workload of 1 worker × 4 threads."""

from __future__ import annotations

import pytest

from tests.support import Dashboard


@pytest.fixture(scope="module")
def dashboard():
    """One worker, so the queueing law is exact (with several, gunicorn #908 skews the spread)."""
    dash = Dashboard("--workers", "1", "--threads", "4")
    try:
        dash.wait_serving()
        dash.wait_processes(1)
        yield dash
    finally:
        dash.stop_leaving_nothing(10)
