"""docs/recording.md says the file's header and events as the code writes them: fails on drift."""

from __future__ import annotations

import typing

from dashboard.model import events
from dashboard.recording.codec import to_json
from dashboard.recording.fileformat import SCHEMA, header
from tests.support import ROOT
from tests.test_recording import EVENTS

DOC = (ROOT / "docs" / "recording.md").read_text()


def table(heading: str) -> list[list[str]]:
    section = DOC.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row] for row in rows]


def test_the_header_is_documented_as_written():
    assert {row[0].strip("`") for row in table("Header")} == set(header(0))
    assert f"now {SCHEMA})" in DOC


def test_every_event_kind_and_its_fields_are_documented_as_written():
    """Every kind the fold takes has a sample here, and its line's fields are the table's."""
    assert {type(event) for event in EVENTS} == set(typing.get_args(events.Event))
    written = {}
    for event in EVENTS:
        line = to_json(event)
        written[line["k"]] = tuple(key for key in line if key not in ("k", "t"))
    documented = {
        row[0].strip("`"): tuple(f.strip().strip("`") for f in row[1].split(",") if f.strip())
        for row in table("Events")
    }
    assert documented == written
