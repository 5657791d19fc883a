"""The results table (dashboard/reports/table.py, GET /api/runs, the page's Runs tab): rows built
from the runs' own summaries, exported as CSV and Markdown that say the same, sortable on the
page. The end-to-end tests fire real bursts at the `dashboard` fixture (gunicorn gthread 1 × 4)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import expect

from dashboard.model.live import Model
from dashboard.model.run_book import MAX_RUNS
from dashboard.model.verdict import Prediction
from dashboard.reports.table import COLUMNS, rows, to_csv, to_markdown
from tests.support import ARTIFACTS, wait_for

MS = 1_000_000
KEYS = [column.key for column in COLUMNS]


def finished_run(model: Model, run_id: str, count: int = 4, ms: int = 100) -> None:
    """A run of `count` requests on 4 slots, each begun at once and replied after `ms`."""
    model.add_run(run_id, "io", count, ms)
    run = model.runs[run_id]
    for index in range(count):
        run.record_sent(index, 0)
        run.record_begin(index, MS, 0, ("h", 10))
        run.record_end(index, (ms + 1) * MS)
        run.record_reply(index, (ms + 2) * MS, 200)
    run.finish((ms + 3) * MS)


def gthread_model() -> Model:
    model = Model()
    info = {
        "mode": "gunicorn-gthread",
        "params": {"workers": 1, "threads": 4},
        "capacity": 4,
        "status": "serving",
    }
    model.set_server(info, 4)
    return model


def test_a_row_is_the_runs_summary_flattened_with_the_server_it_was_fired_at():
    """The table is a projection of `Run.summary`, nothing computed twice: mode, sizes and
    capacity are the server's when the run was fired, not when the table is read."""
    model = gthread_model()
    finished_run(model, "r1")
    model.play_scene({"id": "pool", "title": "A pool of four"}, "r1", Prediction(100, 4), workers=1)
    model.set_server({"mode": "asyncio", "params": {}, "capacity": None, "status": "serving"}, None)
    (row,) = rows([model.runs["r1"].summary(10**9)])
    assert list(row) == KEYS
    assert row == {
        "run": "r1",
        "scene": "A pool of four",
        "mode": "gunicorn-gthread",
        "sizes": "workers 1 × threads 4",
        "capacity": 4,
        "load": "4 × io 100 ms",
        "state": "done",
        "predicted_makespan_ms": 100,
        "makespan_ms": 102.0,
        "predicted_peak_busy": 4,
        "peak_busy": 4,
        "queue_wait_p50_ms": 1.0,
        "queue_wait_p95_ms": 1.0,
        "latency_p50_ms": 102.0,
        "latency_p95_ms": 102.0,
        "failed": 0,
        "verdict": row["verdict"],
    }
    assert "as predicted: 4 at once" in row["verdict"]


def test_an_unbounded_server_reads_unbounded_and_a_plain_run_has_no_scene():
    model = Model()
    model.set_server({"mode": "asyncio", "params": {}, "capacity": None, "status": "serving"}, None)
    finished_run(model, "r1")
    (row,) = rows([model.runs["r1"].summary(10**9)])
    assert (row["capacity"], row["sizes"], row["scene"], row["predicted_makespan_ms"]) == (
        "unbounded",
        "",
        None,
        None,
    )


def test_csv_quotes_what_needs_quoting_and_parses_back_to_the_same_cells():
    """The csv module's quoting (RFC 4180): a cell with a comma, a quote or a line break survives."""
    model = gthread_model()
    finished_run(model, "r1")
    summary = model.runs["r1"].summary(10**9)
    summary["verdict"] = 'slow, "very"\nslow | indeed'
    table = rows([summary])
    parsed = list(csv.DictReader(io.StringIO(to_csv(table), newline="")))
    assert parsed == [{key: "" if table[0][key] is None else str(table[0][key]) for key in KEYS}]


def test_markdown_is_one_line_per_run_with_pipes_escaped():
    model = gthread_model()
    finished_run(model, "r1")
    summary = model.runs["r1"].summary(10**9)
    summary["verdict"] = "a | b\nc"
    lines = to_markdown(rows([summary])).splitlines()
    assert len(lines) == 3 and lines[1] == "| " + " | ".join("---" for _ in KEYS) + " |"
    assert lines[2].startswith("| r1 | — | gunicorn-gthread |") and lines[2].endswith(" | a \\| b c |")


HOSTILE = [
    '<img src=x onerror="alert(1)">',
    "<script>alert(1)</script>",
    "*bold* _em_ `code` ~~gone~~ [link](http://x) ![img](http://x) &lt; a | b \\| c",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_cells_render_as_the_text_typed_never_as_html(text):
    """Issue 17 (also): `?format=md` wrote titles and paths raw, so a scene title `<script>...` was
    HTML in the exported table. A CommonMark renderer with GFM tables (markdown-it-py) now reads
    every cell back as the text it holds, with no tag or link of its own."""
    model = gthread_model()
    finished_run(model, "r1")
    summary = model.runs["r1"].summary(10**9)
    summary["title"] = text
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(to_markdown(rows([summary])))
    cells = re.findall(r"<td>(.*?)</td>", html)
    assert len(cells) == len(COLUMNS) and unescape(cells[KEYS.index("scene")]) == text
    assert set(re.findall(r"<(\w+)", html)) == {"table", "thead", "tr", "th", "tbody", "td"}


# -- end to end ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fired(dashboard) -> list[dict]:
    """Three bursts one after the other on 4 slots: two waves, one, three (makespans apart)."""
    return [dashboard.wait_run(dashboard.fire("io", count, 150)) for count in (8, 4, 12)]


@pytest.mark.integration
def test_runs_json_csv_and_markdown_agree_with_each_run(dashboard, fired):
    """Every export says what GET /api/runs/ID says, run by run, in the order the runs were kept."""
    table = dashboard.get("/api/runs").json()
    assert table["kept"] == MAX_RUNS and [c["key"] for c in table["columns"]] == KEYS
    by_id = {row["run"]: row for row in table["runs"]}
    for run in fired:
        row = by_id[run["id"]]
        assert (row["mode"], row["capacity"], row["sizes"]) == (
            "gunicorn-gthread",
            4,
            "workers 1 × threads 4",
        )
        assert (row["load"], row["state"]) == (f"{run['count']} × io 150 ms", run["state"])
        assert (row["makespan_ms"], row["peak_busy"], row["failed"]) == (
            run["makespan_ms"],
            run["peak_busy"],
            run["failed"],
        )
        assert (row["queue_wait_p50_ms"], row["queue_wait_p95_ms"]) == (
            run["queue_wait_ms"]["p50"],
            run["queue_wait_ms"]["p95"],
        )
        assert (row["latency_p50_ms"], row["latency_p95_ms"]) == (
            run["latency_ms"]["p50"],
            run["latency_ms"]["p95"],
        )

    reply = dashboard.get("/api/runs?format=csv")
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.headers["Content-Disposition"] == 'attachment; filename="threadpulse-runs.csv"'
    parsed = list(csv.DictReader(io.StringIO(reply.content.decode(), newline="")))
    assert parsed == [
        {key: "" if row[key] is None else str(row[key]) for key in KEYS} for row in table["runs"]
    ]

    reply = dashboard.get("/api/runs?format=md")
    assert reply.headers["Content-Type"] == "text/markdown; charset=utf-8"
    lines = reply.text.splitlines()
    assert lines[0] == "| " + " | ".join(c["title"] for c in table["columns"]) + " |"
    cells = [line.strip("| ").split(" | ") for line in lines[2:]]
    assert [(c[0], c[KEYS.index("makespan_ms")]) for c in cells] == [
        (row["run"], str(row["makespan_ms"])) for row in table["runs"]
    ]


@pytest.mark.integration
@pytest.mark.parametrize("query", ["?format=xml", "?format=", "?fmt=csv", "?format=csv&sort=makespan"])
def test_runs_refuses_a_bad_query_string_with_a_json_400(dashboard, query):
    """Bad input gets a clear error (DESIGN.md), not a table in a format nobody asked for."""
    reply = dashboard.get("/api/runs" + query)
    assert reply.status_code == 400 and "format=json, csv or md" in reply.json()["error"]


@pytest.mark.browser
def test_runs_tab_sorts_by_a_clicked_header_and_back(browser, dashboard, fired):
    """A click on a header sorts the runs by it, a second click the other way round."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{dashboard.url}/")
    page.locator("#tab-runs").click()
    ids = [run["id"] for run in fired]
    rows_ = page.locator("#runs tbody tr")
    expect(rows_).to_have_count(len(dashboard.get("/api/runs").json()["runs"]), timeout=10_000)
    expect(page.locator(f"#runs tr[data-run='{ids[0]}'] a")).to_have_attribute(
        "href", f"/api/report?run={ids[0]}"
    )

    def order() -> list[str]:
        return [r for r in rows_.evaluate_all("rows => rows.map(r => r.dataset.run)") if r in ids]

    by_makespan = [run["id"] for run in sorted(fired, key=lambda run: run["makespan_ms"])]
    header = page.locator("#runs th[data-key='makespan_ms']")
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert order() == by_makespan
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert order() == by_makespan[::-1]
    page.screenshot(path=ARTIFACTS / "runs-tab.png")
    context.close()
    assert errors == []


@pytest.mark.integration
def test_a_scenes_run_shows_its_title_prediction_and_verdict(dashboard):
    """Issue 12: with the talk's scenes played, the table is the article's claims, predicted
    beside measured. `cpu-native` runs on the fixture's server (gthread 1 × 4): no switch."""
    scene = next(s for s in dashboard.get("/api/scenes").json()["scenes"] if s["id"] == "cpu-native")
    fired = dashboard.post("/api/scenes/cpu-native")
    assert fired.status_code == 202, fired.text
    run = wait_for(
        lambda: (r := dashboard.wait_run(fired.json()["run"]))["verdict"] and r, what="the verdict"
    )
    (row,) = [row for row in dashboard.get("/api/runs").json()["runs"] if row["run"] == run["id"]]
    assert (row["scene"], row["verdict"]) == (scene["title"], run["verdict"])
    assert (row["predicted_makespan_ms"], row["predicted_peak_busy"]) == (
        scene["predicted"]["makespan_ms"],
        scene["predicted"]["peak_busy"],
    )
