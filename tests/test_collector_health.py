"""The page's footer (static/js/collector-health.js) in a real browser: what the collector
refused, by reason, and what the kernel dropped on its socket."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests.support import launch_chromium
from threadpulse_agent.protocol import TAG_HEADER

pytestmark = pytest.mark.browser


@pytest.fixture
def page(dashboard) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{dashboard.url}/")
        yield page
        browser.close()
    assert errors == [], f"script errors on the page: {errors}"


def test_the_footer_shows_a_bad_tag_by_reason_and_the_kernels_drops(page: Page, dashboard):
    """Issue 10: what the collector drops is counted on its own and shown where its health is."""
    server = dashboard.get("/api/server").json()["url"]
    assert requests.get(server + "/hello", headers={TAG_HEADER: "r1/\xb2/1"}, timeout=30).status_code == 200
    expect(page.locator("#collector-rejected")).to_contain_text(re.compile(r"bad_tag [1-9]"), timeout=10_000)
    kernel = dashboard.get("/api/state").json()["collector"]["kernel_dropped"]
    assert isinstance(kernel, int)
    expect(page.locator("#collector-kernel")).to_have_text(re.compile(r"^\d+$"))
