"""The wire format's one definition: its limits, one `NamedTuple` record per event kind, and the
datagram a decoder makes. `EVENT_FIELDS`, the table docs/protocol.md, the constructors (encoding.py)
and the decoder (decoding.py) are checked against, is derived from the records, so a type checker
sees the same fields the wire carries.

Standard library only, and importable on Python 3.9 (a user's app may run on it): the type
expressions evaluated at run time below use `Optional`, not `X | None`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, NamedTuple, Optional, Union, get_args, get_type_hints

SCHEMA_VERSION = 2  # 2: a request is named by a number of its process, not a "PID-N" string
MAX_DATAGRAM_BYTES = 60_000
MAX_TEXT = 200
MAX_STACK = 600
MAX_NAME = 60
MAX_ROSTER = 400
MAX_INT = 2**63 - 1  # nanoseconds of monotonic clock fit; larger would overflow the model's floats
EVENTS_PER_DATAGRAM = 80  # worst case ~700 bytes an event
MAX_LISTEN = 8

# The wire types of event fields, each named in the metadata of its hint: "int" is an integer from
# 0 to MAX_INT, "str" a string of at most MAX_TEXT characters, "str?" a string or null, "text" a
# string of at most MAX_STACK characters.
Count = Annotated[int, "int"]
Text = Annotated[str, "str"]
MaybeText = Annotated[Optional[str], "str?"]
Frames = Annotated[str, "text"]


# The events, one record each: its fields in wire order. A field added after the schema version was
# fixed is "late": it has a default of None, so a source may leave it out (an agent of before) and
# the version stays. Only a trailing "str?" field may be late (tests/test_protocol_doc.py). What each
# event means: docs/protocol.md, and its constructor's docstring (encoding.py).


class Begin(NamedTuple):
    task: Count
    t_ns: Count
    request: Count
    method: Text
    path: Text
    tag: MaybeText


class End(NamedTuple):
    task: Count
    t_ns: Count
    request: Count
    status: Text
    route: MaybeText = None  # late


class Sent(NamedTuple):
    run: Text
    index: Count  # type: ignore[assignment]  # the wire's name, though it hides tuple.index
    t_ns: Count


class Reply(NamedTuple):
    run: Text
    index: Count  # type: ignore[assignment]  # the wire's name, though it hides tuple.index
    t_ns: Count
    status: Count


class RunEnd(NamedTuple):
    run: Text
    t_ns: Count
    reason: Text


class Phase(NamedTuple):
    task: Count
    t_ns: Count
    phase: Text


class Stack(NamedTuple):
    task: Count
    t_ns: Count
    frames: Frames


class Queue(NamedTuple):
    t_ns: Count
    depth: Count


class Sampling(NamedTuple):
    t_ns: Count
    cost_ns: Count
    interval_ms: Count


class Stall(NamedTuple):
    task: Count
    t_ns: Count


class StallEnd(NamedTuple):
    task: Count
    t_ns: Count


class ProcessCpu(NamedTuple):
    pid: Count
    t_ns: Count
    cpu_ns: Count


class ThreadCpu(NamedTuple):
    pid: Count
    tid: Count
    t_ns: Count
    on_cpu_ns: Count
    runnable_ns: Count


class ProcessGone(NamedTuple):
    pid: Count
    t_ns: Count


Event = Union[
    Begin,
    End,
    Sent,
    Reply,
    RunEnd,
    Phase,
    Stack,
    Queue,
    Sampling,
    Stall,
    StallEnd,
    ProcessCpu,
    ThreadCpu,
    ProcessGone,
]


def _kind(record: type) -> str:
    """An event's wire name from its record's: `StallEnd` -> `stall_end`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", record.__name__).lower()


def _wire_fields(record: type[Event]) -> tuple[tuple[str, str], ...]:
    """(name, wire type) of each field, the wire type read from the metadata of its hint."""
    hints = get_type_hints(record, include_extras=True)
    return tuple((name, hints[name].__metadata__[0]) for name in record._fields)


RECORDS: dict[str, type[Event]] = {_kind(record): record for record in get_args(Event)}
# name -> (field name, wire type) of the fields after the name, in wire order.
EVENT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    kind: _wire_fields(record) for kind, record in RECORDS.items()
}
# name -> where an event's time (`t_ns`) sits in its wire tuple (the name first): every kind has one.
TIME_AT: dict[str, int] = {kind: 1 + record._fields.index("t_ns") for kind, record in RECORDS.items()}
LATE_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(record._field_defaults) for kind, record in RECORDS.items() if record._field_defaults
}

DATAGRAM_FIELDS = ("v", "src", "seq", "dropped", "t", "ev", "tasks")
TASK_FIELDS = (("id", "int"), ("name", "str"), ("kind", "str"), ("native_id", "int"))
# `src.server`: the real server's shape as the agent read it from the server (see agent/server.py);
# "int?" is an integer or null, "list" a list of at most MAX_LISTEN strings.
SERVER_FIELDS = (
    ("id", "str"),
    ("kind", "str"),
    ("workers", "int?"),
    ("threads", "int?"),
    ("connections", "int?"),
    ("capacity", "int?"),
    ("listen", "list"),
)
# `src.python`: the interpreter the process runs on ("bool" is true or false), read by the agent.
PYTHON_FIELDS = (("version", "str"), ("gil", "bool"))
TASK_KINDS = ("thread", "greenlet", "asyncio")
ROLES = ("worker", "loadgen", "sampler")


@dataclass(frozen=True)
class Server:
    """The server a worker process belongs to, as its agent read it from the real server: `id` is
    the same in all its workers and stable for its life ("HOST:MASTER_PID"); `capacity` is None
    where the server sets no bound (the dev server's thread per request)."""

    id: str
    kind: str
    workers: int | None
    threads: int | None
    connections: int | None
    capacity: int | None
    listen: tuple[str, ...] = ()


@dataclass(frozen=True)
class Python:
    """The interpreter a process runs on: its version ("3.13.5") and whether its GIL is on (False
    only on a free-threaded build that has not turned it back on)."""

    version: str
    gil: bool


@dataclass(frozen=True)
class Source:
    """Who sent a datagram: one process, in one role, on one host, and its server when known."""

    host: str
    pid: int
    mode: str
    role: str
    server: Server | None = None
    python: Python | None = None


@dataclass(frozen=True)
class Task:
    """One unit a server runs requests on, as listed in a roster."""

    id: int
    name: str
    kind: str
    native_id: int


@dataclass(frozen=True)
class Datagram:
    """A decoded, validated datagram."""

    source: Source
    seq: int
    dropped: int
    sent_ns: int
    tasks: tuple[Task, ...] | None
    events: tuple[Event, ...]  # oldest first
    # Events and roster entries that were not valid, dropped alone: their neighbours still count.
    bad_events: int = 0
    bad_tasks: int = 0
