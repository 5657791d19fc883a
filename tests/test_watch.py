"""The audience page (/watch) in a real browser (Debian's Chromium) against a real dashboard (the
`dashboard` fixture: gunicorn gthread 1 worker x 4 threads, switched to a green pool of 200 by
the last test): laid out for phones, read-only, narrating what the model says. Screenshots go to
tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import ARTIFACTS, Dashboard, page_at

pytestmark = pytest.mark.browser

# Phones 360-430 px wide, portrait and landscape.
PHONES = [(360, 740), (390, 844), (430, 932), (740, 360), (844, 390), (932, 430)]
CAPACITY = 4  # the fixture's workload
FILLED_MS = 15_000
SWITCH_S = 40

# Whether anything sticks out sideways: the page scrolls, or a tile or counter crosses an edge.
SIDEWAYS = """() => {
  const out = (el) => {
    const r = el.getBoundingClientRect();
    return r.left < 0 || r.right > innerWidth;
  };
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
    tiles: document.querySelectorAll('.tile').length,
    out: [...document.querySelectorAll('.tile, .counter, .narration, .legend li')].filter(out).length,
  };
}"""

CONTROLS = "button, input, select, textarea, form, [role=button], [contenteditable], [tabindex]"
BUSY_TILES = """() => document.querySelectorAll(
    '.tile[data-state=running], .tile[data-state=waiting], .tile[data-state=starved]').length"""


@pytest.fixture
def watch(browser: Browser, dashboard) -> Iterator[Page]:
    """/watch on a phone (390 x 844, a touch screen); fails the test on any script error."""
    phone = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
    with page_at(browser, f"{dashboard.url}/watch", **phone) as page:
        yield page


def check_phones(page: Page, name: str, tiles: int) -> None:
    """At every phone size: no sideways scroll, nothing crosses an edge; a screenshot of each."""
    for width, height in PHONES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(
            f"() => ({SIDEWAYS})().out === 0 && ({SIDEWAYS})().tiles >= {tiles}", timeout=5_000
        )
        layout = page.evaluate(SIDEWAYS)
        assert layout["scrollWidth"] <= layout["innerWidth"], (width, height, layout)
        page.screenshot(path=ARTIFACTS / f"watch-{name}-{width}x{height}.png", full_page=True)


def test_watch_shows_the_pool_on_a_phone_without_sideways_scroll_or_any_control(watch: Page, dashboard):
    """Issue 11, item 2: the live pool and counters on a phone at 360-430 px, portrait and
    landscape, busy under a burst; no button, input, select, form (or anything focusable) in the
    DOM at any moment, since the audience only watches."""
    expect(watch.locator(".tile")).to_have_count(CAPACITY, timeout=FILLED_MS)
    assert watch.locator(CONTROLS).count() == 0
    run = dashboard.fire("io", 3 * CAPACITY, 4000)
    watch.wait_for_function(f"() => ({BUSY_TILES})() === {CAPACITY}", timeout=FILLED_MS)
    expect(watch.locator(".counter[data-kind=in_service] .counter-value")).to_have_text(str(CAPACITY))
    check_phones(watch, "gthread-1x4", CAPACITY)
    assert watch.locator(CONTROLS).count() == 0
    dashboard.wait_run(run)


# Builds the page's own Store and CaptionsView (the modules /watch loads) and feeds them a
# snapshot and frames with and without the contract's `captions` and `scene`.
NARRATION = """async () => {
  const { Store } = await import('/static/js/store.js');
  const { CaptionsView } = await import('/static/js/captions.js');
  const history = JSON.parse(document.getElementById('bootstrap').textContent).history;
  const store = new Store({ taskKeySeparator: ':', history });
  const root = document.getElementById('narration').cloneNode(true);
  root.id = 'narration-probe';
  document.querySelector('main').append(root);
  const view = new CaptionsView(root);
  const shown = () => {
    view.render(store);
    return {
      hidden: root.hidden,
      scene: root.querySelector('.scene').hidden ? null
        : [...root.querySelectorAll('.scene [data-field]')].filter((el) => !el.hidden)
          .map((el) => el.textContent),
      verdict: root.querySelector('.scene-verdict').checkVisibility() === false ? null
        : root.querySelector('.scene-verdict').textContent,
      captions: [...root.querySelectorAll('.caption')].map((li) => li.textContent),
    };
  };
  const seen = [];
  store.applySnapshot({ version: 1, now_ms: 0, processes: [] }, 0);
  seen.push(shown());
  const scene = { id: 'gil', title: 'The GIL', caption: 'Four threads, one core.', index: 4,
                  count: 9, run: 'r7', verdict: null };
  store.applyFrame({ version: 2, base: 1, now_ms: 50, captions: ['4 threads want a CPU; one holds the GIL'],
                     scene }, 50);
  seen.push(shown());
  store.applyFrame({ version: 3, base: 2, now_ms: 100 }, 100);
  seen.push(shown());
  store.applyFrame({ version: 4, base: 3, now_ms: 150, captions: [],
                     scene: { ...scene, verdict: '2.1 s, as predicted.' } }, 150);
  seen.push(shown());
  store.applyFrame({ version: 5, base: 4, now_ms: 200, captions: [], scene: null }, 200);
  seen.push(shown());
  root.remove();
  return seen;
}"""


def test_captions_and_the_scene_show_as_the_frames_say_and_nothing_without_them(watch: Page, dashboard):
    """The contract's two fields: a dashboard without scenes sends neither and nothing is shown;
    a frame without them keeps what was shown; `captions: []` and `scene: null` clear it; the
    verdict appears once the scene's run is over."""
    watch.wait_for_function(
        "() => document.querySelector('#connection-status').dataset.status === 'connected'"
    )
    if dashboard.get("/api/scenes").status_code == 404:  # a dashboard without scenes narrates nothing
        expect(watch.locator("#narration")).to_be_hidden()
    nothing, fired, kept, judged, cleared = watch.evaluate(NARRATION)
    assert nothing == {"hidden": True, "scene": None, "verdict": None, "captions": []}
    assert fired["hidden"] is False
    assert fired["scene"] == ["Scene 5 of 9", "The GIL", "Four threads, one core."]
    assert fired["verdict"] is None
    assert fired["captions"] == ["4 threads want a CPU; one holds the GIL"]
    assert kept == fired
    assert judged["verdict"] == "2.1 s, as predicted." and judged["captions"] == []
    assert cleared == nothing


def test_a_green_pool_of_200_fits_a_phones_width(watch: Page, dashboard):
    """Every one of 200 cells is drawn within the phone's width, busy under a burst that fills
    the pool. Last in this module: it leaves the dashboard on eventlet."""
    reply = dashboard.post("/api/server", {"mode": "eventlet", "pool": 200})
    assert reply.status_code == 200, reply.text
    dashboard.wait_serving(SWITCH_S)
    dashboard.wait_processes(1, SWITCH_S)
    expect(watch.locator(".tile")).to_have_count(200, timeout=FILLED_MS)
    run = dashboard.fire("io", 200, 3000)
    watch.wait_for_function(f"() => ({BUSY_TILES})() >= 200", timeout=FILLED_MS)
    check_phones(watch, "eventlet-200", 200)
    assert watch.locator(CONTROLS).count() == 0
    dashboard.wait_run(run)


def test_a_phone_rejoins_by_itself_when_the_dashboard_comes_back(browser: Browser):
    """The speaker restarts the dashboard mid-talk (same address): every phone shows it lost the
    link, then rejoins without a reload and shows the new dashboard's server."""
    first = Dashboard("--mode", "flask-dev-serial")
    try:
        first.wait_serving()
        phone = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
        with page_at(browser, f"{first.url}/watch", **phone) as page:
            link, mode = page.locator("#connection-status"), page.locator("#server-mode")
            expect(link).to_have_attribute("data-status", "connected", timeout=15_000)
            expect(mode).not_to_have_text("—", timeout=15_000)
            before = mode.text_content()
            first.stop_leaving_nothing()
            expect(link).to_have_attribute("data-status", "disconnected", timeout=15_000)
            second = Dashboard("--mode", "flask-dev-threaded", port=first.port)
            try:
                second.wait_serving()
                expect(link).to_have_attribute("data-status", "connected", timeout=15_000)
                expect(mode).not_to_have_text(before, timeout=15_000)
                page.screenshot(path=ARTIFACTS / "watch-rejoined.png")
            finally:
                second.stop_leaving_nothing()
    finally:
        if first.proc.poll() is None:
            first.stop_leaving_nothing()
