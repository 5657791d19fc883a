"""The timeline's lanes and mapping (static/js/timeline-lanes.js), in a real browser (Debian's
Chromium) with no dashboard: the module is served from static/js by the browser's own routing.
The drawer places each bar with `layout().xOf`; the pointer is read back with the same layout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.support import ROOT, page_at

pytestmark = pytest.mark.browser

ORIGIN = "http://timeline.test"

# Two processes, a task each; task 1:10 serves /io since t=9,500; 1:10 and a gone task 3:30
# finished spans with a queue wait before them. Each case: where the pointer is, what it finds.
PROBE = """async () => {
  const { buildLanes, layout, requestAt } = await import("/static/js/timeline-lanes.js");
  const span = (task, sent, start, end, path) =>
    ({ task, sent, start, end, path, route: path, status: "200" });
  const store = {
    processes: new Map([[2, {}], [1, {}]]),
    tasks: new Map([
      ["1:10", { pid: 1, name: "T-10", request: { path: "/io", route: "/io", started_ms: 9500 } }],
      ["2:20", { pid: 2, name: "T-20", request: null }],
    ]),
    spans: [span("1:10", 1000, 2000, 4000, "/a"), span("3:30", 5000, 6000, 8000, "/b")],
    splitTaskKey: (key) => key.split(":").map(Number),
  };
  const lanes = buildLanes(store);
  const map = layout(
    { laneCount: lanes.length, width: 800, height: 200, fontPx: 16, from: 0, windowMs: 10000 });
  const at = (t, lane) => requestAt(store, lanes, map, map.xOf(t), (lane + 0.5) * map.laneH);
  const name = (found) => found && `${found.path} ${found.status} wait=${found.wait} on ${found.task}`;
  return {
    lanes: lanes.map((lane) => lane.label),
    service: name(at(3000, 1)),
    wait: name(at(1500, 1)),
    gone: name(at(7000, 2)),
    live: name(at(9800, 1)),
    between: name(at(4800, 1)),
    otherLane: name(at(3000, 0)),
    gutter: name(requestAt(store, lanes, map, map.gutter - 1, 0.5 * map.laneH)),
  };
}"""


def serve_static(page: Page) -> None:
    """The browser answers for ORIGIN itself: a blank page, and files from static/."""

    def answer(route: Route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path.startswith("/static/"):
            route.fulfill(path=str(ROOT / path.lstrip("/")), content_type="text/javascript")
        else:
            route.fulfill(body="<!doctype html><title>timeline</title>", content_type="text/html")

    page.route(f"{ORIGIN}/**", answer)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with page_at(browser, f"{ORIGIN}/", before_load=serve_static) as page:
        yield page


def test_the_pointer_finds_the_bar_drawn_under_it_through_the_draws_own_mapping(page: Page) -> None:
    """issue 18: timeline.js's hit-test recomputed the draw's lane height, gutter and time scale
    by hand beside the drawing; both now use one layout, and a point on a bar finds that bar."""
    found = page.evaluate(PROBE)
    assert found["lanes"] == ["T-20", "T-10", "3:30 (gone)"]  # pool order, then gone tasks
    assert found["service"] == "/a 200 wait=1000 on T-10"
    assert found["wait"] == "/a 200 wait=1000 on T-10"  # its queue wait, drawn before the bar
    assert found["gone"] == "/b 200 wait=1000 on 3:30 (gone)"
    assert found["live"] == "/io in service wait=null on T-10"
    assert found["between"] is None
    assert found["otherLane"] is None
    assert found["gutter"] is None
