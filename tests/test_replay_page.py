"""The replay's page: a badge with the recording's date and host, pause/play, speed and seek, and
no control that needs a live server (issue 12, item 3), in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.support import ARTIFACTS, Dashboard, launch_chromium, wait_for
from tests.test_replay import recorded  # noqa: F401 (the module's recording, a fixture)

integration = pytest.mark.integration


@pytest.fixture(scope="module")
def replaying(recorded) -> Iterator[Dashboard]:  # noqa: F811
    path, _, _ = recorded
    dash = Dashboard("--replay", str(path), "--speed", "0.25")
    try:
        wait_for(lambda: dash.proc.poll() is None and _health(dash), 30, what="the replay to serve")
        yield dash
    finally:
        dash.stop_leaving_nothing(10)


def _health(dash: Dashboard) -> dict | None:
    try:
        return dash.get("/api/health").json()
    except Exception:
        return None


@pytest.fixture
def page(replaying: Dashboard) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            page.goto(replaying.url + "/")
            yield page
        finally:
            browser.close()


@integration
def test_the_replay_page_shows_its_badge_and_controls_and_hides_live_actions(
    page: Page, replaying: Dashboard
):
    status = replaying.get("/api/replay").json()
    assert replaying.get("/api/health").json()["source"] == "replay"
    badge = page.locator("#replay-badge")
    expect(badge).to_contain_text("replay")
    expect(badge).to_contain_text(status["host"])
    for selector in ("#burst-form", "#mode-form", "#recording-toggle", "#server-restart"):
        expect(page.locator(selector)).to_be_hidden()

    page.click("#replay-play")
    wait_for(lambda: replaying.get("/api/replay").json()["paused"], 5, what="paused")
    expect(page.locator("#replay-play")).to_contain_text("Play")
    page.select_option("#replay-speed", "4")
    wait_for(lambda: replaying.get("/api/replay").json()["speed"] == 4, 5, what="speed 4")

    target = round(status["length_s"] / 2, 1)
    page.locator("#replay-seek").evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('change')); }", target
    )
    wait_for(lambda: abs(replaying.get("/api/replay").json()["at_s"] - target) < 0.2, 5, what="the seek")
    expect(page.locator("#replay-position")).to_contain_text(f"/ 0:{int(status['length_s']):02d}")
    page.click("#replay-play")
    wait_for(lambda: not replaying.get("/api/replay").json()["paused"], 5, what="playing again")


@integration
def test_the_stage_clicker_steps_through_the_scenes_the_recording_holds(replaying: Dashboard):
    """A talk given from a recording, with no server: PageDown seeks to the scene recorded and the
    stage shows it; PageUp within its first seconds goes back to the recording's start."""
    scenes = replaying.get("/api/replay").json()["scenes"]
    assert [scene["id"] for scene in scenes] == ["pool"]
    fired = scenes[0]["at_s"]

    def at() -> float:
        return replaying.get("/api/replay").json()["at_s"]

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(replaying.url + "/stage")
            expect(page.locator("#replay-badge")).to_contain_text("replay")  # the room sees a recording
            expect(page.locator("#presets")).to_be_hidden()  # they need a live server
            assert replaying.post("/api/replay", {"at_s": 0, "paused": True}).status_code == 200
            place = page.locator(".scene-place")
            expect(place).to_be_hidden(timeout=15_000)  # at the start, no scene fired yet
            page.keyboard.press("PageDown")
            wait_for(lambda: fired - 0.3 <= at() <= fired + 2, 10, what=f"the seek to the scene at {fired} s")
            expect(place).to_be_visible(timeout=15_000)
            expect(place).to_have_text("Scene 1 of 1")
            page.screenshot(path=str(ARTIFACTS / "stage-replayed-scene-1280x720.png"))
            page.keyboard.press("PageUp")
            wait_for(lambda: at() < fired - 0.3, 10, what="the seek back to the start")
            expect(page.locator(".scene-place")).to_be_hidden(timeout=15_000)  # no scene fired yet
        finally:
            browser.close()
