"""Fixtures: a real dashboard with a real gunicorn gthread workload of 1 worker × 4 threads, one
that starts on the serial dev server (for tests that switch modes), a headless Chromium shared by
a module's browser tests, and test clients of the app whose services never start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from dashboard.app import create_app
from dashboard.config import Config
from tests.support import Dashboard, launch_chromium, serving


@pytest.fixture(scope="module")
def dashboard():
    """One worker, so the queueing law is exact (with several, gunicorn #908 skews the spread)."""
    yield from serving("--workers", "1", "--threads", "4")


@pytest.fixture(scope="module")
def serial_dashboard():
    """Starts on the dev server, one request at a time: the quickest mode to leave for another."""
    dash = Dashboard("--mode", "flask-dev-serial")
    try:
        dash.wait_serving()
        yield dash
    finally:
        dash.stop_leaving_nothing(10)


@pytest.fixture
def client_with():
    """A test client of the dashboard's app with a given config; its services never start (the
    checks under test run before any service is used)."""
    made = []

    def make(**config):
        app, services = create_app(Config(**config), start=False)
        made.append(services)
        return app.test_client()

    yield make
    for services in made:
        services.collector.sock.close()
        services.spawner.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by a module's browser tests."""
    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()
