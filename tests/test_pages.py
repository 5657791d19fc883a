"""The live pages (/, /stage, /watch; dashboard/web/pages.py) in a real browser (Debian's
Chromium) against a real dashboard: loaded, connected and settled, they log no console error and
make no request that fails."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import managed, page_at

pytestmark = pytest.mark.browser


class Trouble:
    """What a page did wrong from its first request on: console errors and failed requests."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def listen(self, page: Page) -> None:
        page.on("console", lambda m: m.type == "error" and self.seen.append(f"console: {m.text}"))
        page.on("response", lambda r: r.status >= 400 and self.seen.append(f"{r.status} {r.url}"))
        page.on("requestfailed", lambda r: self.seen.append(f"failed: {r.url} {r.failure}"))


@pytest.mark.parametrize("path", ["/", "/stage", "/watch"])
def test_live_page_logs_no_error_and_no_request_fails(browser: Browser, dashboard, path: str) -> None:
    """issue 18: every live page asked GET /api/replay to learn whether it replays; live that
    answers 409, and the console showed the error on every load. The bootstrap now says so."""
    trouble = Trouble()
    with page_at(browser, f"{dashboard.url}{path}", before_load=trouble.listen) as page:
        page.wait_for_selector("#connection-status[data-status=connected]", timeout=20_000)
        page.wait_for_selector(".tile", timeout=20_000)
        page.wait_for_load_state("networkidle", timeout=20_000)
        assert trouble.seen == [], f"{path}: {trouble.seen}"


def test_the_status_header_and_the_pool_header_tell_the_managed_server_alike(browser: Browser, dashboard):
    """Issue 18: the status header read the frames' old single-server `server`, the pool's server
    header its `servers` entry. Both now read the managed server's entry, in the same words."""
    server = managed(dashboard.get("/api/state").json())
    with page_at(browser, dashboard.url) as page:
        expect(page.locator("#server-mode")).to_have_text(server["mode"], timeout=20_000)
        expect(page.locator("#server-status")).to_have_text("server: serving")
        expect(page.locator("#server-size")).to_have_text("1 worker × 4 threads · capacity 4")
        head = page.locator(f'.server-head[data-server="{server["id"]}"]')
        expect(head.locator(".server-tag")).to_have_text("managed")
        expect(head.locator(".server-figures")).to_contain_text("capacity 4 · queued ")
