"""The results table: one row per run kept, flat, as `GET /api/runs` answers it and exports it as
CSV and Markdown. Pure: a function of the runs' summaries (`Run.summary`), so a replay that folds
the same events gets the same table.

The columns are said once, here; the page reads them from the API and sorts on their keys."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple


class Column(NamedTuple):
    key: str  # the row's key, the CSV header
    title: str  # the page's and the Markdown's header
    get: Callable[[Mapping], object]


def _sizes(summary: Mapping) -> str:
    params = (summary.get("server") or {}).get("params") or {}
    return " × ".join(f"{name} {value}" for name, value in params.items())


def _load(summary: Mapping) -> str:
    return f"{summary['count']} × {summary['endpoint']} {summary['ms']} ms"


def _capacity(summary: Mapping) -> object:
    server = summary.get("server") or {}
    if server.get("mode") and server.get("capacity") is None:
        return "unbounded"
    return server.get("capacity")


def _predicted(summary: Mapping, key: str) -> object:
    return (summary.get("predicted") or {}).get(key)


COLUMNS = (
    Column("run", "run", lambda s: s["id"]),
    Column("scene", "scene", lambda s: s.get("title") or s.get("scene")),
    Column("mode", "mode", lambda s: (s.get("server") or {}).get("mode")),
    Column("sizes", "sizes", _sizes),
    Column("capacity", "capacity", _capacity),
    Column("load", "load", _load),
    Column("state", "state", lambda s: s["state"]),
    Column("predicted_makespan_ms", "predicted makespan (ms)", lambda s: _predicted(s, "makespan_ms")),
    Column("makespan_ms", "makespan (ms)", lambda s: s["makespan_ms"]),
    Column("predicted_peak_busy", "predicted peak busy", lambda s: _predicted(s, "peak_busy")),
    Column("peak_busy", "peak busy", lambda s: s["peak_busy"]),
    Column("queue_wait_p50_ms", "queue wait p50 (ms)", lambda s: s["queue_wait_ms"]["p50"]),
    Column("queue_wait_p95_ms", "queue wait p95 (ms)", lambda s: s["queue_wait_ms"]["p95"]),
    Column("latency_p50_ms", "latency p50 (ms)", lambda s: s["latency_ms"]["p50"]),
    Column("latency_p95_ms", "latency p95 (ms)", lambda s: s["latency_ms"]["p95"]),
    Column("failed", "failed", lambda s: s["failed"]),
    Column("verdict", "verdict", lambda s: s.get("verdict") or s.get("reason")),
)


def columns_view() -> list[dict]:
    """The columns as the page gets them: it renders and sorts the rows by these keys."""
    return [{"key": column.key, "title": column.title} for column in COLUMNS]


def rows(summaries: Iterable[Mapping]) -> list[dict]:
    """One flat row per run, in the order given (the model keeps runs oldest first)."""
    return [{column.key: column.get(summary) for column in COLUMNS} for summary in summaries]


def to_csv(table: list[dict]) -> str:
    """RFC 4180 CSV with the column keys as header; an unknown figure is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.key for column in COLUMNS])
    for row in table:
        writer.writerow(["" if row[column.key] is None else row[column.key] for column in COLUMNS])
    return out.getvalue()


def to_markdown(table: list[dict]) -> str:
    """A GitHub-flavoured Markdown table with the column titles; an unknown figure is a dash."""
    lines = [
        _md_row(column.title for column in COLUMNS),
        _md_row("---" for _ in COLUMNS),
        *(_md_row(_md_cell(row[column.key]) for column in COLUMNS) for row in table),
    ]
    return "\n".join(lines) + "\n"


# What Markdown could read as markup in a cell: emphasis, code, links, HTML tags and entities,
# strikethrough and the table's own pipe. A backslash makes each literal (CommonMark, "Backslash
# escapes"), so a scene title or a request path is shown as typed, never rendered as HTML.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~!])")


def _md_cell(value: object) -> str:
    if value is None:
        return "—"
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"
