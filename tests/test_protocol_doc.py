"""One format, said in four places that must agree: docs/protocol.md, the event table
(EVENT_FIELDS), the constructors every source builds events with, and the records the collector
decodes them into. This fails if any of them drifts, or if an event is built by hand."""

from __future__ import annotations

import inspect
import re

import pytest

from tests.support import ROOT
from threadpulse_agent import protocol

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


SAMPLES = {"int": 7, "str": "r1", "str?": "r1/0/5", "text": "f (a.py:1)\ng (b.py:2)"}


@pytest.mark.parametrize("kind", sorted(protocol.EVENT_FIELDS))
def test_each_kind_has_a_constructor_whose_output_decodes_into_its_record(kind):
    """The constructor's parameters are the event's fields in order, and what it builds travels
    through a datagram and comes out as the kind's named record with the same values."""
    fields = protocol.EVENT_FIELDS[kind]
    constructor = getattr(protocol, f"{kind}_event")
    assert tuple(inspect.signature(constructor).parameters) == tuple(name for name, _ in fields)
    values = [SAMPLES[wire] for _, wire in fields]
    source = protocol.Source("h", 1, "m", "worker")
    (record,) = protocol.decode(protocol.encode(source, 0, 0, 0, [constructor(*values)])).events
    assert type(record) is protocol.RECORDS[kind]
    assert record._fields == tuple(name for name, _ in fields)
    assert tuple(record) == tuple(values)


def test_every_constructor_and_record_is_of_a_kind_in_the_table():
    """No constructor or record outlives its event, and each record is importable by its name."""
    made = {name for name in dir(protocol) if name.endswith("_event")} - {"decode_event"}
    constructors = {name[: -len("_event")] for name in made}
    assert constructors == set(protocol.EVENT_FIELDS)
    assert set(protocol.RECORDS) == set(protocol.EVENT_FIELDS)
    for record in protocol.RECORDS.values():
        assert getattr(protocol, record.__name__) is record


def test_no_source_builds_an_event_by_hand():
    """Every emitter goes through the constructors, so changing an event's fields changes them all."""
    literal = re.compile(r'\[\s*"(' + "|".join(protocol.EVENT_FIELDS) + r')"\s*,')
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("workload", "dashboard", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []


def test_datagram_fields_are_documented_as_coded():
    assert tuple(row[0].strip("`") for row in table_rows("Datagram fields")) == protocol.DATAGRAM_FIELDS


def test_task_fields_are_documented_as_coded():
    rows = table_rows("Tasks")
    assert tuple((row[0].strip("`"), row[1]) for row in rows) == protocol.TASK_FIELDS


def test_python_fields_are_documented_as_coded():
    """`src.python` (issue 20): the doc's table is the code's, and a roster's interpreter travels."""
    rows = table_rows("Python")
    assert tuple((row[0].strip("`"), row[1]) for row in rows) == protocol.PYTHON_FIELDS
    source = protocol.Source("h", 1, "m", "worker", python=protocol.Python("3.13.5", False))
    assert protocol.decode(protocol.encode(source, 0, 0, 0, [], [])).source.python == source.python


def test_documented_limits_match_the_code():
    assert f"at most {protocol.MAX_DATAGRAM_BYTES:,} bytes" in DOC
    assert f"at most {protocol.EVENTS_PER_DATAGRAM}" in DOC
    assert f"at most {protocol.MAX_NAME} characters" in DOC
    assert f"at most {protocol.MAX_TEXT} characters" in DOC
    assert f"at most {protocol.MAX_STACK} characters" in DOC
    assert re.search(rf"schema version, `{protocol.SCHEMA_VERSION}`", DOC)


def test_the_tag_header_is_documented_as_coded():
    assert f"`{protocol.TAG_HEADER}: RUN/INDEX/SENT_NS`" in DOC
    assert f"`{protocol.TAG_ENVIRON}`" in DOC and f"`{protocol.TAG_ASGI.decode()}`" in DOC
    assert protocol.parse_tag(protocol.make_tag("RUN", 1, 2)) == ("RUN", 1, 2)


def test_late_fields_are_documented_trailing_and_may_be_left_out():
    """A field added to an event without a new schema version: documented as late, the last of its
    event, nullable, and an event sent without it (an older agent's) still decodes, as null."""
    for kind, late in protocol.LATE_FIELDS.items():
        fields = protocol.EVENT_FIELDS[kind]
        assert [name for name, _ in fields[-len(late) :]] == list(late)
        assert all(wire == "str?" for _, wire in fields[-len(late) :])
        assert all(f"`{kind}`'s `{name}`" in DOC for name in late)
        values = [SAMPLES[wire] for _, wire in fields[: -len(late)]]
        source = protocol.Source("h", 1, "m", "worker")
        (record,) = protocol.decode(protocol.encode(source, 0, 0, 0, [[kind, *values]])).events
        assert tuple(record) == (*values, *[None] * len(late))
