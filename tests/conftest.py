"""Fixtures: a real dashboard with a real gunicorn gthread workload of 1 worker × 4 threads, and a
headless Chromium shared by a module's browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support import Dashboard, launch_chromium


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by a module's browser tests."""
    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()
