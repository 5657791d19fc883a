"""docs/protocol.md and workload/agent/protocol.py describe one format; this fails if they drift."""

from __future__ import annotations

import re

from tests.support import ROOT
from workload.agent import protocol

DOC = (ROOT / "docs" / "protocol.md").read_text()


def table_rows(heading: str) -> list[list[str]]:
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row] for row in rows]


def test_every_event_and_its_fields_are_documented_as_coded():
    documented = {}
    for name, fields, _ in table_rows("Events"):
        pairs = [field.strip().split(":") for field in fields.split(",")]
        documented[name.strip("`")] = tuple((n.strip(), t.strip()) for n, t in pairs)
    assert documented == protocol.EVENT_FIELDS


def test_datagram_fields_are_documented_as_coded():
    assert tuple(row[0].strip("`") for row in table_rows("Datagram fields")) == protocol.DATAGRAM_FIELDS


def test_task_fields_are_documented_as_coded():
    rows = table_rows("Tasks")
    assert tuple((row[0].strip("`"), row[1]) for row in rows) == protocol.TASK_FIELDS


def test_documented_limits_match_the_code():
    assert f"at most {protocol.MAX_DATAGRAM_BYTES:,} bytes" in DOC
    assert f"at most {protocol.EVENTS_PER_DATAGRAM}" in DOC
    assert f"at most {protocol.MAX_NAME} characters" in DOC
    assert f"at most {protocol.MAX_TEXT} characters" in DOC
    assert f"at most {protocol.MAX_STACK} characters" in DOC
    assert re.search(rf"schema version, `{protocol.SCHEMA_VERSION}`", DOC)
