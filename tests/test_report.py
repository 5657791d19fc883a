"""Reports (dashboard/reports/report.py, page.py, GET /api/report): the selection a query string
asks for, the span's requests, points and runs taken from the model, the modules inlined, and a
report of a real burst opened in headless Chromium with the network cut (`dashboard` fixture:
gunicorn gthread 1 × 4)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from dashboard.model.history import SERIES_KEPT
from dashboard.model.live import Model
from dashboard.reports import page
from dashboard.reports.report import (
    MARGIN_MS,
    BadReportQuery,
    NothingToReport,
    Selection,
    parse_selection,
    report_data,
)
from tests.support import ARTIFACTS

MS = 1_000_000
S = 1_000 * MS
MAX_REPORT_BYTES = 1_500_000  # issue 22: a report to mail or attach; the full plotly.js alone is 4.8 MB


# -- the query string ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "selection"),
    [
        ({"run": "r12"}, Selection(run="r12")),
        ({"scenes": "all"}, Selection(scenes=True)),
        ({"from": "-60"}, Selection(from_s=-60.0)),
        ({"from": "1200.5", "to": "1260"}, Selection(from_s=1200.5, to_s=1260.0)),
    ],
)
def test_a_report_is_of_one_run_the_scenes_played_or_a_span(query, selection):
    assert parse_selection(query) == selection


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({}, "give one of"),
        ({"run": "r1", "from": "1"}, "give one of"),
        ({"to": "5"}, "give one of"),
        ({"scenes": "all", "to": "5"}, "give one of"),
        ({"run": ""}, "run must be a run id"),
        ({"run": "r1/../x"}, "run must be a run id"),
        ({"run": "r" * 41}, "run must be a run id"),
        ({"scenes": "yes"}, "scenes=all"),
        ({"from": "2026-11-26T10:00:00Z"}, "seconds on the dashboard's monotonic clock"),
        ({"from": "nan"}, "seconds"),
        ({"from": "inf"}, "seconds"),
        ({"from": "1e9"}, "seconds"),
        ({"from": "²"}, "seconds"),
        ({"from": "1", "to": ""}, "seconds"),
        ({"run": "r1", "format": "pdf"}, "unknown parameter 'format'"),
    ],
)
def test_a_bad_query_string_is_refused_with_the_reason(query, reason):
    """Bad input gets a clear error and changes nothing (DESIGN.md); ISO dates are refused
    rather than guessed at: the model's times are on the host's monotonic clock."""
    with pytest.raises(BadReportQuery, match=reason):
        parse_selection(query)


# -- what a report holds --------------------------------------------------------------------------


def model_with_two_runs() -> Model:
    """r1: 4 × 100 ms sent at 10 s; r2: 4 × 100 ms sent at 20 s; a point a second from 5 s to 25 s."""
    model = Model()
    model.set_server(
        {"mode": "gunicorn-gthread", "params": {"threads": 4}, "capacity": 4, "status": "serving"}, 4
    )
    for run_id, at in (("r1", 10 * S), ("r2", 20 * S)):
        model.add_run(run_id, "io", 4, 100)
        run = model.runs[run_id]
        for index in range(4):
            run.record_sent(index, at)
            run.record_begin(index, at + MS, at, ("h", 10))
            run.record_end(index, at + 101 * MS)
            run.record_reply(index, at + 102 * MS, 200)
            model.spans.add(f"10:{index}", at + MS, at + 101 * MS, at, "/io?ms=100", "200", "/io")
        run.finish(at + 103 * MS)
    for second in range(5, 26):
        model.tick(second * S, None)
    return model


def test_a_runs_report_covers_its_requests_with_a_margin_and_nothing_else():
    """From its first send to its end (the load generator's, after the last reply), MARGIN_MS
    either side: the other run's requests and seconds are not in it."""
    model = model_with_two_runs()
    data = report_data(model, Selection(run="r1"), 30 * S, 1_000_000.0)
    assert (data["from_ms"], data["to_ms"]) == (10_000 - MARGIN_MS, 10_103 + MARGIN_MS)
    assert [run["id"] for run in data["runs"]] == ["r1"] and data["table"]["rows"][0]["run"] == "r1"
    assert [span.sent_ms for span in data["spans"]] == [10_000.0] * 4
    assert [point["t"] for point in data["series"]] == [10, 11]
    assert data["history"]["span_window_ms"] == 1_103
    assert data["filename"] == "threadpulse-report-r1.html" and data["notes"] == []
    assert [task["id"] for task in data["processes"][0]["tasks"]] == [0, 1, 2, 3]
    assert data["from_wall"] == "1970-01-12T13:46:19.500+00:00"  # 1,000,000 s - 20.5 s


def test_a_span_counted_back_from_now_holds_the_runs_that_overlap_it():
    model = model_with_two_runs()
    data = report_data(model, Selection(from_s=-6.0), 25 * S, 0.0)
    assert (data["from_ms"], data["to_ms"]) == (19_000, 25_000)
    assert [run["id"] for run in data["runs"]] == ["r2"]
    assert {span.sent_ms for span in data["spans"]} == {20_000.0}
    data = report_data(model, Selection(from_s=0.0, to_s=100.0), 25 * S, 0.0)
    assert [run["id"] for run in data["runs"]] == ["r1", "r2"] and data["to_ms"] == 25_000


def test_a_sustained_run_is_reported_by_span_and_by_id():
    """A span or a run report while a sustained run was kept raised AttributeError (a 500): a
    SustainedRun had no window, and the run's title read a burst's count. Found by issue 17's
    property test of recordings (fault 3)."""
    model = model_with_two_runs()
    plan = Plan(HttpRequest("GET", "/io?ms=5"), 2, 3)
    model.add_sustained("r3", plan, 21 * S, "launched", managed=False)
    model.runs["r3"].record_sent(0, 21 * S)
    model.runs["r3"].record_reply(0, 21 * S + 10 * MS, 200)
    assert [run["id"] for run in report_data(model, Selection(from_s=-6.0), 25 * S, 0.0)["runs"]] == [
        "r2",
        "r3",
    ]
    data = report_data(model, Selection(run="r3"), 25 * S, 0.0)
    assert data["title"] == "Run r3: GET /io?ms=5 · 2 conn × 3 s, closed loop on launched"
    assert data["from_ms"] == 21_000 - MARGIN_MS


def test_the_scenes_report_holds_every_run_a_scene_fired_and_none_other():
    model = model_with_two_runs()
    with pytest.raises(NothingToReport):
        report_data(model, Selection(scenes=True), 30 * S, 0.0)
    model.play_scene({"id": "pool", "title": "A pool"}, "r2", None, workers=1)
    data = report_data(model, Selection(scenes=True), 30 * S, 0.0)
    assert [row["scene"] for row in data["table"]["rows"]] == ["A pool"]


def test_a_run_no_longer_kept_is_a_404_not_an_empty_report():
    with pytest.raises(NothingToReport, match="no run 'r9'"):
        report_data(model_with_two_runs(), Selection(run="r9"), 30 * S, 0.0)


def test_the_report_says_when_the_model_no_longer_holds_the_start_of_its_span():
    """The model keeps SERIES_KEPT seconds of points: a span older than that is said, not hidden."""
    model = model_with_two_runs()
    for second in range(26, 26 + SERIES_KEPT + 5):
        model.tick(second * S, None)
    data = report_data(model, Selection(run="r1"), (26 + SERIES_KEPT + 5) * S, 0.0)
    assert data["series"] == [] and any("keeps the last 120 s" in note for note in data["notes"])


def test_the_second_still_open_is_in_the_report_marked_partial():
    """A report asked for just after a burst still charts the burst's last second."""
    model = model_with_two_runs()
    model.runs["r2"].record_reply(0, 25 * S + 300 * MS, 200)
    data = report_data(model, Selection(run="r2"), 25 * S + 400 * MS, 0.0)
    assert data["series"][-1]["t"] == 26 and data["series"][-1]["partial"] is True


def test_every_module_the_report_needs_is_inlined_with_its_imports_mapped():
    """A data: URL has no folder, so a relative import left in any module would fail offline."""
    imports, entry = page._modules()
    sources = {name: base64.b64decode(url.split(",", 1)[1]).decode() for name, url in imports.items()}
    sources["entry"] = base64.b64decode(entry.split(",", 1)[1]).decode()
    assert {"threadpulse/timeline.js", "threadpulse/charts.js", "threadpulse/store.js"} <= set(imports)
    for name, source in sources.items():
        assert page.IMPORT.search(source) is None, name
        for imported in re.findall(r'\bfrom\s*"(threadpulse/[\w-]+\.js)"', source):
            assert imported in imports, (name, imported)


# -- a real report, opened offline ----------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("?run=r1&to=5", 400),
        ("?from=yesterday", 400),
        ("?from=-5&to=-10", 400),
        ("?run=%00", 400),
        ("?scenes=1", 400),
        ("?run=r999999", 404),
    ],
)
def test_report_answers_a_bad_query_string_with_json(dashboard, query, status):
    reply = dashboard.get("/api/report" + query)
    assert (reply.status_code, reply.headers["Content-Type"]) == (status, "application/json")
    assert reply.json()["error"]


def js_string(value: object) -> str:
    """A number as the page writes it (JavaScript's String()): 615.0 is "615", where Python writes
    "615.0". CI saw a makespan of exactly 615.0 ms: rounded to 0.1 ms, about one run in ten."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


@pytest.mark.browser
def test_the_report_of_a_real_burst_opens_offline_and_draws_it(browser, dashboard, tmp_path: Path):
    """Issue 12: one file that opens with no network (plotly.js and every module inlined): its
    timeline draws each request of the run, every chart draws, its table shows the run's figures,
    no script error, and no request leaves the page. Issue 22: under 1.5 MB, plotly.js being the
    live page's own partial bundle (/vendor/plotly.min.js), inlined as it is served."""
    run = dashboard.wait_run(dashboard.fire("io", 8, 300))
    reply = dashboard.get(f"/api/report?run={run['id']}")
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert (
        reply.headers["Content-Disposition"] == f'attachment; filename="threadpulse-report-{run["id"]}.html"'
    )
    path = tmp_path / f"threadpulse-report-{run['id']}.html"
    path.write_bytes(reply.content)
    print(f"report of {run['count']} requests: {len(reply.content):,} bytes")  # recorded in docs/reports.md
    assert len(reply.content) < MAX_REPORT_BYTES
    assert dashboard.get("/vendor/plotly.min.js").content in reply.content

    url = path.as_uri()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    left: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
    context.set_offline(True)
    report = context.new_page()
    errors: list[str] = []
    report.on("pageerror", lambda error: errors.append(str(error)))
    report.on("console", lambda message: message.type == "error" and errors.append(message.text))
    report.on("request", lambda request: request.url != url and left.append(request.url))
    report.goto(url)

    expect(report.locator("#report-title")).to_contain_text(
        f"Run {run['id']}: 8 × io 300 ms on gunicorn-gthread"
    )
    canvas = report.locator(".timeline-canvas")
    report.wait_for_function(
        "n => Number(document.querySelector('.timeline-canvas')?.dataset.spans) >= n", arg=8
    )
    assert canvas.bounding_box()["height"] > 50
    for chart in ("throughput", "concurrency", "latency", "latency-route", "cpu-process"):
        expect(report.locator(f"[data-chart='{chart}']")).to_have_attribute("data-drawn", "")
        expect(report.locator(f"[data-chart='{chart}'] .main-svg").first).to_be_visible()
    row = report.locator(f"#report-runs tr[data-run='{run['id']}']")
    expect(row.locator("[data-key='makespan_ms']")).to_have_text(js_string(run["makespan_ms"]))
    expect(row.locator("[data-key='peak_busy']")).to_have_text(js_string(run["peak_busy"]))
    report.screenshot(path=ARTIFACTS / "report.png", full_page=True)
    context.close()
    assert errors == [] and left == []


@pytest.mark.integration
def test_a_report_of_the_last_seconds_is_a_file_of_its_span(dashboard):
    """The page's "last 2 minutes" link: a span counted back from now."""
    reply = dashboard.get("/api/report?from=-120")
    assert reply.status_code == 200
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="threadpulse-report-') and disposition.endswith(
        '.html"'
    )


@pytest.mark.integration
def test_the_report_of_the_scenes_played_holds_each_scenes_run(dashboard):
    """`?scenes=all`: every run a scene fired, with its title (the fixture's gthread 1 × 4 is
    the `cpu-native` scene's server, so no switch)."""
    run = dashboard.post("/api/scenes/cpu-native").json()["run"]
    dashboard.wait_run(run)
    reply = dashboard.get("/api/report?scenes=all")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"] == 'attachment; filename="threadpulse-report-scenes.html"'
    bootstrap = re.search(r'<script id="bootstrap" type="application/json">(.*?)</script>', reply.text)
    rows = json.loads(bootstrap[1])["table"]["rows"]
    assert (rows[-1]["run"], rows[-1]["scene"]) == (run, "C code releases the GIL")
    assert all(row["scene"] for row in rows)
