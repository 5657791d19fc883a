"""The page in a real browser (Debian's Chromium, driven by Playwright) against a real
dashboard managing a gunicorn gthread workload of 1 worker x 4 threads (the `dashboard`
fixture). Waits are polls with deadlines, never sleeps. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.model.history import Spans, page_contract
from dashboard.model.tasks import task_key
from tests.support import ARTIFACTS, page_at

pytestmark = pytest.mark.browser


CAPACITY = 4  # the fixture's workload: 1 worker x 4 threads
IO_PRESET = {"key": "1", "endpoint": "io", "count": 10, "ms": 500}
CPU_PRESET = {"key": "2", "endpoint": "cpu", "count": 10, "ms": 500}
SWITCH_MS = 40_000  # a new workload server must start and report
SERVER_READY_MS = 30_000  # the workload server may still be starting
BUSY_WITHIN_MS = 2_000
RUN_DONE_MS = 15_000

# True once at least n tiles are busy serving the given path.
BUSY_ON_PATH = """([n, path]) => [...document.querySelectorAll('.tile')].filter(t =>
    ['running', 'waiting'].includes(t.dataset.state)
    && t.querySelector('.tile-path')?.textContent === path).length >= n"""


@pytest.fixture
def page(browser: Browser, dashboard) -> Iterator[Page]:
    """The dashboard's page, open; fails the test on any uncaught script error."""
    with page_at(browser, f"{dashboard.url}/", viewport={"width": 1280, "height": 800}) as page:
        yield page


def wait_for_idle_pool(page: Page) -> None:
    """The pool's capacity is drawn as idle tiles, before any request is sent."""
    expect(page.locator(".process")).to_have_count(1, timeout=SERVER_READY_MS)
    expect(page.locator(".tile")).to_have_count(CAPACITY, timeout=SERVER_READY_MS)
    expect(page.locator(".tile[data-state=idle]")).to_have_count(CAPACITY)


def wait_for_busy_pool(page: Page, path: str) -> None:
    page.wait_for_function(BUSY_ON_PATH, arg=[CAPACITY, path], timeout=BUSY_WITHIN_MS)


def wait_for_run_done(page: Page) -> dict[str, str]:
    """Waits until the run result says done; returns its figures as shown."""
    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-state", "done", timeout=RUN_DONE_MS)
    return {
        field: result.locator(f"[data-field='{field}']").inner_text()
        for field in ("sent", "done", "failed", "peak_busy", "makespan_ms")
        + tuple(f"{g}.{q}" for g in ("latency_ms", "queue_wait_ms") for q in ("p50", "p95", "max"))
    }


def run_ids(dashboard) -> set[str]:
    return {run["id"] for run in dashboard.get("/api/state").json()["runs"]}


def check_io_burst_result(page: Page, dashboard) -> None:
    """The page shows the run the API reports: every request served, and peak busy equal
    to capacity under a burst larger than it (DESIGN.md's laws)."""
    shown = wait_for_run_done(page)
    run_id = page.locator("#run-result").get_attribute("data-run")
    run = dashboard.get(f"/api/runs/{run_id}").json()
    assert (run["endpoint"], run["count"], run["ms"]) == ("io", 10, 500)
    assert shown["sent"] == shown["done"] == str(IO_PRESET["count"])
    assert shown["failed"] == "0"
    assert shown["peak_busy"] == str(CAPACITY)
    for field, text in shown.items():
        assert text != "—", f"{field} still unknown after the run is done"


def test_preset_button_fills_the_pool_then_shows_the_run_result(page: Page, dashboard):
    """Empty slots are drawn before any request; 10 x io 500 ms on 4 slots keeps all 4
    busy, then every tile comes back idle and the run's figures are shown."""
    wait_for_idle_pool(page)
    page.screenshot(path=ARTIFACTS / "pool-idle.png")

    page.locator(f"[data-preset='{IO_PRESET['key']}']").click()
    wait_for_busy_pool(page, "/io")
    page.screenshot(path=ARTIFACTS / "pool-busy.png")

    expect(page.locator(".tile[data-state=idle]")).to_have_count(CAPACITY, timeout=RUN_DONE_MS)
    expect(page.locator(".tile")).to_have_count(CAPACITY)
    check_io_burst_result(page, dashboard)
    page.screenshot(path=ARTIFACTS / "run-result.png")


def test_the_fired_run_is_followed_from_the_frames_without_polling_the_api(page: Page, dashboard):
    """issue 18: the page polled GET /api/runs/ID every 250 ms until the run was over, though
    every frame that changes a run carries it; the result now comes from the frames alone."""
    wait_for_idle_pool(page)
    asked: list[str] = []
    page.on("request", lambda r: "/api/runs/" in r.url and asked.append(r.url))
    page.locator(f"[data-preset='{IO_PRESET['key']}']").click()
    check_io_burst_result(page, dashboard)
    expect(page.locator("#message")).to_have_text(re.compile(r"^Run \S+ done\.$"))
    assert asked == []


def test_shortcut_key_fires_its_preset_but_not_while_typing(page: Page, dashboard):
    """The preset's key fires it from anywhere on the page, but a digit typed into the
    burst form stays in the form."""
    wait_for_idle_pool(page)
    before = run_ids(dashboard)

    page.locator("#burst-count").press("1")
    page.locator("#burst-count").blur()
    page.keyboard.press(IO_PRESET["key"])
    wait_for_busy_pool(page, "/io")
    check_io_burst_result(page, dashboard)

    assert run_ids(dashboard) - before == {page.locator("#run-result").get_attribute("data-run")}
    page.screenshot(path=ARTIFACTS / "shortcut-run.png")


def test_burst_form_shows_the_apis_error_for_bad_input(page: Page, dashboard):
    """A burst of 0 requests is refused by the API (the one validator, so the form has no
    checks of its own), and the page shows the API's own message."""
    bad = {"endpoint": "io", "count": 0, "ms": 500}
    refused = dashboard.post("/api/load", bad)
    assert refused.status_code == 400
    error = refused.json()["error"]
    wait_for_idle_pool(page)

    page.locator("#burst-endpoint").select_option(bad["endpoint"])
    page.locator("#burst-count").fill(str(bad["count"]))
    page.locator("#burst-ms").fill(str(bad["ms"]))
    page.locator("#burst-form button[type=submit]").click()

    message = page.locator("#message")
    expect(message).to_have_text(error)
    expect(message).to_be_visible()
    expect(message).to_have_attribute("data-kind", "error")
    expect(page.locator("#run-result")).to_be_hidden()
    expect(page.locator(".tile[data-state=idle]")).to_have_count(CAPACITY)
    page.screenshot(path=ARTIFACTS / "bad-input.png")


def wait_for_runs_over(dashboard) -> None:
    """Every run fired so far is over, so the next test starts from an idle pool."""
    for run_id in run_ids(dashboard):
        dashboard.wait_run(run_id)


# True once some tile is starved for the GIL and says so in its own words.
GIL_STARVED_TILE = """() => [...document.querySelectorAll('.tile[data-state=starved][data-why=gil]')]
    .some(t => t.querySelector('.tile-state').textContent.includes('GIL'))"""


@pytest.mark.solo  # starved by the GIL, not by a core: no other lane may take the cores
def test_cpu_burst_shows_gil_starvation_on_tiles_timeline_and_charts(page: Page, dashboard):
    """10 x cpu 500 ms on 4 threads of one process: the threads take turns holding the GIL, so
    the dashboard's schedstat reading marks some of them starved by the GIL (not by a core), and
    the tile names that cause. The timeline draws the requests' spans on its canvas and the
    charts get points. Screenshots of both under load."""
    wait_for_idle_pool(page)
    page.locator(f"[data-preset='{CPU_PRESET['key']}']").click()
    page.wait_for_function(GIL_STARVED_TILE, timeout=8_000)
    expect(page.locator("#starved-note")).to_contain_text("GIL")
    page.screenshot(path=ARTIFACTS / "pool-gil-starved.png")

    # In service now: CAPACITY bars growing to "now" (finished ones of earlier tests may add).
    page.wait_for_function(
        "() => Number(document.querySelector('#timeline-box canvas').dataset.spans) >= 4",
        timeout=BUSY_WITHIN_MS,
    )
    assert page.locator("#timeline-box canvas").bounding_box()["height"] > 100

    page.keyboard.press("c")
    expect(page.locator("#charts-panel")).to_be_visible()
    expect(page.locator("#timeline-panel")).to_be_hidden()
    for chart in ("throughput", "concurrency", "latency", "cpu-process"):
        expect(page.locator(f"[data-chart='{chart}'] .main-svg").first).to_be_attached(timeout=10_000)
    page.wait_for_function(
        "() => Number(document.querySelector('[data-chart=concurrency]').dataset.points) > 0"
        " && Number(document.querySelector('[data-chart=\"cpu-process\"]').dataset.points) > 0",
        timeout=10_000,
    )
    page.locator(".views").screenshot(path=ARTIFACTS / "charts-under-load.png")

    page.keyboard.press("t")
    expect(page.locator("#timeline-panel")).to_be_visible()
    # Finished requests of this burst are drawn too: the first end after about 2 s.
    expect(page.locator("#run-result [data-field=done]")).not_to_have_text("0", timeout=RUN_DONE_MS)
    page.locator(".views").screenshot(path=ARTIFACTS / "timeline-under-load.png")
    wait_for_runs_over(dashboard)


def test_the_timeline_colours_by_route_and_names_each_route_in_its_legend(page: Page, dashboard):
    """Issue 13, item 4: bars are coloured by route, not raw path; `/io?ms=300` and `/hello` are two
    routes, each with a swatch of its own in the legend, the queue-wait shade after them; the
    charts draw service p95 by route."""
    wait_for_idle_pool(page)
    runs = [dashboard.fire("io", 4, 300), dashboard.fire("hello", 4, 0)]
    legend = page.locator("#timeline-legend li")
    expect(legend.filter(has_text="/io")).to_have_count(1, timeout=RUN_DONE_MS)
    expect(legend.filter(has_text="/hello")).to_have_count(1, timeout=RUN_DONE_MS)
    expect(legend.last).to_contain_text("queue wait")
    colours = legend.evaluate_all(
        "items => items.map(li => li.querySelector('.kind-swatch').style.background)"
    )
    assert len(set(colours[:-1])) == len(colours) - 1  # one colour a route
    for run in runs:
        dashboard.wait_run(run)
    page.keyboard.press("c")  # the charts: service p95 by route, a line a route, in its colour
    by_route = page.locator("[data-chart='latency-route']")
    expect(by_route.locator(".main-svg").first).to_be_attached(timeout=10_000)
    page.wait_for_function(
        "() => Number(document.querySelector('[data-chart=\"latency-route\"]').dataset.points) >= 2",
        timeout=10_000,
    )
    expect(by_route.locator(".legendtext").filter(has_text="/io")).to_have_count(1)
    page.keyboard.press("t")


def test_the_timelines_tooltip_names_the_request_under_the_pointer(page: Page, dashboard):
    """issue 18: timeline.js split in four, the tooltip reads the pointer through the layout the
    frame was drawn with (a guard of that wiring: the old file passed it too); pointing along the
    first lane finds one of its bars, and names it."""
    wait_for_idle_pool(page)
    dashboard.wait_run(dashboard.fire("io", CAPACITY, 1000))  # a 1 s bar on every lane
    canvas = page.locator("#timeline-box canvas")
    box = canvas.bounding_box()
    tip = page.locator(".timeline-tip")
    for x in range(int(box["width"]) - 2, 0, -4):  # from "now" back along the first lane
        canvas.hover(position={"x": x, "y": 8})
        if tip.is_visible():
            break
    expect(tip).to_contain_text("/io")
    expect(tip).to_contain_text("service")
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()


def test_clicking_a_busy_tile_opens_the_inspector_with_its_stack(page: Page, dashboard):
    """The inspector shows the task's sampled stack (the workload's work.py while it computes),
    polled while open; Esc closes it and gives the focus back to the tile."""
    wait_for_idle_pool(page)
    # 4 threads share one GIL: about 6 s, so that on a busy machine the task is still computing
    # when the inspector opens and polls its stack (at 600 ms each it had finished once, in CI)
    run = dashboard.fire("cpu", CAPACITY, 1500)
    busy = page.locator(".tile[data-key]", has_text="/cpu").first
    expect(busy).to_be_visible(timeout=BUSY_WITHIN_MS)
    busy.click()
    inspector = page.locator("#inspector")
    expect(inspector).to_be_visible()
    expect(inspector.locator(".inspector-stack")).to_contain_text("work.py", timeout=5_000)
    expect(inspector.locator("[data-field=request]")).to_contain_text("/cpu")
    expect(inspector.locator("#inspector-state-ms li").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "inspector.png")
    page.keyboard.press("Escape")
    expect(inspector).to_be_hidden()
    dashboard.wait_run(run)


def test_switching_server_mode_from_the_page_redraws_the_slots(page: Page, dashboard):
    """The mode form switches the workload server (POST /api/server answers once it serves):
    1 x 2 threads draws 2 tiles, and back to 1 x 4 draws 4. The capacity shown before the switch
    is the mode's own answer, refusal included."""
    wait_for_idle_pool(page)
    expect(page.locator("#mode-select")).to_have_value("gunicorn-gthread")
    page.locator("#mode-params [data-param=threads]").fill("0")
    expect(page.locator("#mode-capacity")).to_contain_text("threads must be from 1 to 64, got 0")
    for threads in (2, CAPACITY):
        page.locator("#mode-params [data-param=workers]").fill("1")
        page.locator("#mode-params [data-param=threads]").fill(str(threads))
        expect(page.locator("#mode-capacity")).to_contain_text(f"capacity: {threads}")
        page.locator("#mode-form button[type=submit]").click()
        expect(page.locator("#mode-message")).to_have_attribute("data-kind", "ok", timeout=SWITCH_MS)
        expect(page.locator(".process")).to_have_count(1, timeout=SWITCH_MS)
        expect(page.locator(".tile")).to_have_count(threads, timeout=SWITCH_MS)
        if threads == 2:
            page.screenshot(path=ARTIFACTS / "mode-switched.png")
    assert dashboard.get("/api/server").json()["capacity"] == CAPACITY


def test_presenter_token_moves_from_the_url_to_post_headers(browser: Browser, dashboard):
    """`?token=` leaves the address bar at once (a projector shows it) and travels in the
    X-Threadpulse-Token header of every POST; a page the dashboard says is a viewer shows the
    read-only badge and disabled controls."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{dashboard.url}/?token=presenter-secret-1")
        page.wait_for_function("() => !location.search.includes('token')")
        wait_for_idle_pool(page)
        with page.expect_request(lambda r: r.url.endswith("/api/load") and r.method == "POST") as sent:
            page.keyboard.press("1")
        assert sent.value.headers.get("x-threadpulse-token") == "presenter-secret-1"
        expect(page.locator("#viewer-badge")).to_be_hidden()

        viewer = context.new_page()
        viewer.route(
            "**/api/health",
            lambda route: route.fulfill(
                json={"ok": True, "version": "test", "presenter_required": True, "presenter": False}
            ),
        )
        viewer.goto(f"{dashboard.url}/")
        expect(viewer.locator("#viewer-badge")).to_be_visible()
        expect(viewer.locator("#viewer-badge")).to_have_text("viewer (read-only)")
        expect(viewer.locator("[data-preset='1']")).to_be_disabled()
        expect(viewer.locator("#mode-form button[type=submit]")).to_be_disabled()
        viewer.screenshot(path=ARTIFACTS / "viewer-read-only.png")
    finally:
        context.close()
    wait_for_runs_over(dashboard)


def test_a_dead_server_is_announced_and_the_restart_button_brings_it_back(page: Page, dashboard):
    """The workload server dies on stage: the page says so with the reason, offers a restart,
    and the button brings the same mode and sizes back, pool drawn again."""
    wait_for_idle_pool(page)
    master = dashboard.get("/api/server").json()["pids"][0]
    os.kill(master, signal.SIGKILL)  # the gunicorn master: the whole server is gone
    expect(page.locator("#server-status")).to_have_attribute("data-status", "failed", timeout=5_000)
    expect(page.locator("#server-error")).to_contain_text("exited")
    restart = page.locator("#server-restart")
    expect(restart).to_be_visible()
    page.screenshot(path=ARTIFACTS / "server-died.png")
    restart.click()
    expect(page.locator("#server-status")).to_have_attribute("data-status", "serving", timeout=SWITCH_MS)
    expect(restart).to_be_hidden()
    expect(page.locator(".tile")).to_have_count(CAPACITY, timeout=SWITCH_MS)
    info = dashboard.get("/api/server").json()
    assert (info["mode"], info["capacity"], info["status"]) == ("gunicorn-gthread", CAPACITY, "serving")
    assert master not in info["pids"]


# The page's Store, made as main.js makes it, fed spans in a given field order.
READ_SPANS = """async ([history, raw]) => {
    const { Store } = await import('/static/js/store.js');
    const bootstrap = JSON.parse(document.getElementById('bootstrap').textContent);
    const store = new Store({taskKeySeparator: bootstrap.task_key_separator, history});
    store.applySnapshot({version: 1, now_ms: 0, spans: raw, series: []}, 0);
    return {spans: store.spans, windowMs: store.spanWindowMs, maxSeries: store.maxSeries};
}"""


def test_the_page_reads_spans_in_the_field_order_its_bootstrap_gives(page: Page):
    """dashboard/model/history.py defines a span's fields, the window and the points kept once:
    the page's bootstrap carries them, and its Store reads a span the model made field by field,
    in whatever order the bootstrap names (here also reversed), so the two cannot drift."""
    history = json.loads(page.locator("#bootstrap").text_content())["history"]
    assert history == page_contract()
    spans = Spans()
    spans.add(task_key(10, 5), 2_000_000, 5_000_000, 1_000_000, "/io?ms=3", "200", "/io")
    raw = json.loads(json.dumps(list(spans.items)))
    expected = {
        "seq": 1,
        "task": task_key(10, 5),
        "start": 2,
        "end": 5,
        "sent": 1,
        "path": "/io?ms=3",
        "status": "200",
        "route": "/io",
    }
    read = page.evaluate(READ_SPANS, [history, raw])
    assert read == {
        "spans": [expected],
        "windowMs": history["span_window_ms"],
        "maxSeries": history["series_points"],
    }
    reversed_history = {**history, "span_fields": history["span_fields"][::-1]}
    assert page.evaluate(READ_SPANS, [reversed_history, [span[::-1] for span in raw]])["spans"] == [expected]
