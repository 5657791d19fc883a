"""The page's load forms (static/js/load-forms.js) in a real browser against a real dashboard
(gunicorn gthread 1 worker × 4 threads): a request at any path, kept up by the sustained form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import ARTIFACTS, page_at

pytestmark = pytest.mark.browser

CAPACITY = 4
SERVER_READY_MS = 30_000
RUN_DONE_MS = 30_000

# True once exactly n tiles are busy serving the given path.
BUSY_ON_PATH = """([n, path]) => [...document.querySelectorAll('.tile')].filter(t =>
    ['running', 'waiting'].includes(t.dataset.state)
    && t.querySelector('.tile-path')?.textContent === path).length === n"""


@pytest.fixture
def page(browser: Browser, dashboard) -> Iterator[Page]:
    """The dashboard's page with its pool drawn; fails the test on any uncaught script error."""
    with page_at(browser, f"{dashboard.url}/", viewport={"width": 1280, "height": 900}) as page:
        expect(page.locator(".tile")).to_have_count(CAPACITY, timeout=SERVER_READY_MS)
        yield page


def test_the_sustained_form_keeps_n_connections_busy_and_shows_the_run(page: Page, dashboard):
    """Two connections in a closed loop on /io?ms=300 keep exactly two of the four threads busy,
    and the run's result, titled by its plan, counts every request sent as done."""
    page.locator("#request-method").select_option("GET")
    page.locator("#request-path").fill("/io?ms=300")
    page.locator("#sustained-connections").fill("2")
    page.locator("#sustained-seconds").fill("3")
    page.locator("#sustained-mode").select_option("closed")
    expect(page.locator("#sustained-rate")).to_be_disabled()
    page.locator("#sustained-start").click()

    page.wait_for_function(BUSY_ON_PATH, arg=[2, "/io"], timeout=5_000)
    page.screenshot(path=ARTIFACTS / "sustained-form.png")
    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-state", "done", timeout=RUN_DONE_MS)
    expect(result.locator("[data-field=title]")).to_contain_text("GET /io?ms=300 · 2 conn × 3 s, closed loop")
    sent = result.locator("[data-field=sent]").inner_text()
    assert int(sent) >= 2 * 5  # 3 s of 300 ms requests on each of 2 connections, less the ends
    expect(result.locator("[data-field=done]")).to_have_text(sent)
    expect(result.locator("[data-field=failed]")).to_have_text("0")


def test_the_forms_show_the_apis_error_and_the_bodys_json_error(page: Page, dashboard):
    """The API is the one validator: a fixed rate of 0 gets its 400 message; a body that is not JSON
    is said by the page, which must send a JSON value."""
    refused = dashboard.post("/api/load/sustained", {"path": "/hello", "connections": 2, "seconds": 3,
                                                      "mode": "rate", "rate": 0})  # fmt: skip
    assert refused.status_code == 400
    page.locator("#request-path").fill("/hello")
    page.locator("#sustained-mode").select_option("rate")
    page.locator("#sustained-rate").fill("0")
    page.locator("#sustained-start").click()
    message = page.locator("#message")
    expect(message).to_have_text(refused.json()["error"])
    expect(message).to_have_attribute("data-kind", "error")

    page.locator("#request-method").select_option("POST")
    page.locator("#request-body").fill("{name: 1}")
    page.locator("#request-form button[type=submit]").click()
    expect(message).to_contain_text("The body is not JSON")
    expect(page.locator(".tile[data-state=idle]")).to_have_count(CAPACITY)
