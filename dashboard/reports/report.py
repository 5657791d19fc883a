"""A report: what the model holds of one run, of the scenes played, or of a span of time, as one
JSON-ready dict that the report page draws with the live page's own views (timeline, charts).

Pure: a function of the model, the selection and the clocks it is given, so a replay that folds
the same events can make the same report. What the model no longer holds (it keeps the last
120 s of per-second points and 5,000 requests) is said in the report's notes, never hidden."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dashboard.model.history import SERIES_KEPT, SPANS_KEPT, Span, page_contract
from dashboard.model.live import Model
from dashboard.model.runs import Run
from dashboard.model.sustained_run import SustainedRun
from dashboard.model.tasks import TASK_KEY_SEPARATOR
from dashboard.reports.table import columns_view, rows

MARGIN_MS = 500  # shown before and after a run's requests, so its first queue wait is in view
# The page's store (static/js/store.js, MAX_SPANS) holds at most this many spans.
SPANS_IN_REPORT = 4_000
SECONDS = re.compile(r"-?\d{1,10}(\.\d{1,3})?")
QUERIES = ("run", "scenes", "from", "to")


class BadReportQuery(ValueError):
    """A query string the report cannot be made from: answered 400 with the reason."""


class NothingToReport(LookupError):
    """The run asked for is not (or no longer) kept, or no scene was played: answered 404."""


@dataclass(frozen=True)
class Selection:
    """What a report covers: one run, every run a scene fired, or a span (seconds on the
    dashboard's monotonic clock; negative: that many seconds before now)."""

    run: str | None = None
    scenes: bool = False
    from_s: float | None = None
    to_s: float | None = None


def parse_selection(args: Mapping[str, str]) -> Selection:
    """`run=ID`, `scenes=all`, or `from=S[&to=S]`; anything else is refused with the reason."""
    unknown = sorted(set(args) - set(QUERIES))
    if unknown:
        raise BadReportQuery(f"unknown parameter {unknown[0][:40]!r}: use run=ID, scenes=all or from=S&to=S")
    given = [name for name in ("run", "scenes", "from") if name in args]
    if len(given) != 1 or ("to" in args and given != ["from"]):
        raise BadReportQuery("give one of run=ID, scenes=all or from=S (with to=S, default now)")
    if "run" in args:
        run = args["run"]
        if not 0 < len(run) <= 40 or not run.isascii() or not run.isalnum():
            raise BadReportQuery("run must be a run id like r3 (GET /api/runs lists them)")
        return Selection(run=run)
    if "scenes" in args:
        if args["scenes"] != "all":
            raise BadReportQuery("scenes takes one value: scenes=all")
        return Selection(scenes=True)
    return Selection(from_s=_seconds(args, "from"), to_s=_seconds(args, "to") if "to" in args else None)


def _seconds(args: Mapping[str, str], name: str) -> float:
    text = args[name]
    if not SECONDS.fullmatch(text):
        raise BadReportQuery(
            f"{name} must be seconds on the dashboard's monotonic clock (the `t` of GET /api/history's"
            f" series), or negative for seconds before now, e.g. from=-60; got {text[:40]!r}"
        )
    return float(text)


def report_data(model: Model, selection: Selection, now_ns: int, wall_now: float) -> dict:
    """The report's contents: its span, the runs in it with their figures and table rows, the
    requests (timeline) and per-second points (charts) of the span, and the pool's tasks.
    `wall_now` is the wall-clock time at `now_ns`, for the dates a reader sees."""
    now_ms = now_ns / 1e6
    chosen, from_ms, to_ms, name, title = _choose(model, selection, now_ns)
    spans = [span for span in model.spans.items if span.end_ms >= from_ms and _first_ms(span) <= to_ms]
    notes = _notes(model, from_ms, len(spans))
    spans = spans[-SPANS_IN_REPORT:]
    open_point = model.series.open_point(model.server.get("capacity"), model.cpu_by_process())
    points = [*model.series.points, *([open_point] if open_point else [])]
    series = [p for p in points if from_ms / 1000 < p["t"] and p["t"] - 1 < to_ms / 1000]
    summaries = [run.summary(now_ns) for run in chosen]

    def wall(ms: float) -> str:
        return datetime.fromtimestamp(wall_now - (now_ms - ms) / 1000, UTC).isoformat(timespec="milliseconds")

    return {
        "title": title,
        "filename": f"threadpulse-report-{name}.html",
        "generated": wall(now_ms),
        "from_ms": round(from_ms, 1),
        "to_ms": round(to_ms, 1),
        "from_wall": wall(from_ms),
        "to_wall": wall(to_ms),
        "server": dict(model.server),
        "runs": summaries,
        "table": {"columns": columns_view(), "rows": rows(summaries)},
        "processes": _lanes(model, spans),
        "spans": spans,
        "series": series,
        "notes": notes,
        "task_key_separator": TASK_KEY_SEPARATOR,
        "history": {**page_contract(), "span_window_ms": round(to_ms - from_ms, 1)},
    }


def _choose(model: Model, selection: Selection, now_ns: int) -> tuple[list[Run], float, float, str, str]:
    """The runs reported, the span (ms), the file's name part and the report's title."""
    now_ms = now_ns / 1e6
    if selection.run is not None:
        run = model.runs.get(selection.run)
        if run is None:
            raise NothingToReport(f"no run {selection.run!r} is kept (GET /api/runs lists those that are)")
        runs, name = [run], run.id
        if isinstance(run, SustainedRun):  # sent to a server of the user's: no mode, its id
            what, where = run.summary(now_ns)["label"], run.server.get("mode") or run.target
        else:
            what, where = f"{run.count} × {run.endpoint} {run.ms} ms", run.server.get("mode")
        title = f"Run {run.id}: {what} on {where}"
    elif selection.scenes:
        runs, name = [run for run in model.runs.values() if run.scene is not None], "scenes"
        if not runs:
            raise NothingToReport("no scene has been played, or its runs are no longer kept")
        title = f"The scenes played ({len(runs)} runs)"
    else:
        from_ms = _on_clock(selection.from_s, now_ms)
        to_ms = now_ms if selection.to_s is None else min(_on_clock(selection.to_s, now_ms), now_ms)
        if not from_ms < to_ms:
            raise BadReportQuery("from must come before to (and before now)")
        runs = [run for run in model.runs.values() if _overlaps(run.window(now_ns), from_ms, to_ms)]
        name = f"{from_ms / 1000:.0f}-{to_ms / 1000:.0f}"
        return runs, from_ms, to_ms, name, f"{(to_ms - from_ms) / 1000:.1f} s of the dashboard"
    windows = [window for run in runs if (window := run.window(now_ns)) is not None]
    if not windows:
        return runs, now_ms - MARGIN_MS, now_ms, name, title
    from_ms = min(start for start, _ in windows) / 1e6 - MARGIN_MS
    to_ms = min(max(end for _, end in windows) / 1e6 + MARGIN_MS, now_ms)
    return runs, from_ms, max(to_ms, from_ms + 1), name, title


def _on_clock(seconds: float, now_ms: float) -> float:
    return now_ms + seconds * 1000 if seconds < 0 else seconds * 1000


def _overlaps(window: tuple[int, int] | None, from_ms: float, to_ms: float) -> bool:
    return window is not None and window[0] / 1e6 <= to_ms and window[1] / 1e6 >= from_ms


def _first_ms(span: Span) -> float:
    return span.start_ms if span.sent_ms is None else min(span.sent_ms, span.start_ms)


def _notes(model: Model, from_ms: float, spans: int) -> list[str]:
    """What of the span the model no longer holds, or the report leaves out."""
    notes = []
    points = model.series.points
    if len(points) == SERIES_KEPT and (points[0]["t"] - 1) * 1000 > from_ms:
        notes.append(f"The charts start later than the span: the dashboard keeps the last {SERIES_KEPT} s.")
    items = model.spans.items
    if len(items) == SPANS_KEPT and items[0].end_ms > from_ms:
        notes.append(
            f"The timeline starts later than the span: the dashboard keeps the last {SPANS_KEPT:,} requests."
        )
    if spans > SPANS_IN_REPORT:
        notes.append(f"The timeline shows the last {SPANS_IN_REPORT:,} of the span's {spans:,} requests.")
    return notes


def _lanes(model: Model, spans: list[Span]) -> list[dict]:
    """The pool as the timeline draws it: the processes that served in the span with all their
    tasks still known (idle slots too), and tasks seen only in the span's requests."""
    keys: dict[str, dict[int, str]] = {}  # per process name (a pid, or PID@HOST), its tasks
    for span in spans:
        process_name, _, task_id = span.task.rpartition(TASK_KEY_SEPARATOR)
        keys.setdefault(process_name, {})[int(task_id)] = f"task {task_id}"
    for process_name, tasks in keys.items():
        process = model.sources.named(process_name)
        for task in process.tasks.values() if process is not None else ():
            tasks[task.id] = task.name
    pid_of = {name: int(name.partition("@")[0]) for name in keys}
    return [
        {
            "pid": pid_of[process_name],
            "key": process_name,
            "status": "gone" if model.sources.named(process_name) is None else "alive",
            "tasks": [
                {"id": task_id, "name": name, "state": "idle", "request": None}
                for task_id, name in sorted(tasks.items())
            ],
        }
        for process_name, tasks in sorted(keys.items(), key=lambda item: (pid_of[item[0]], item[0]))
    ]
