"""The wire format from sources (agents, load generator) to the collector: one module, one doc.

Every datagram is one UTF-8 JSON object; `docs/protocol.md` documents each field, and
`tests/test_protocol_doc.py` fails when the doc, the constructors and the decoder drift apart.
Sources only encode, each event through its constructor here (`end_event`, ...); the collector
only decodes, into one named record per event kind (`End`, ...), and treats every datagram as
untrusted input.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

SCHEMA_VERSION = 2  # 2: a request is named by a number of its process, not a "PID-N" string
MAX_DATAGRAM_BYTES = 60_000
MAX_TEXT = 200
MAX_STACK = 600
MAX_NAME = 60
MAX_ROSTER = 400
MAX_INT = 2**63 - 1  # nanoseconds of monotonic clock fit; larger would overflow the model's floats
EVENTS_PER_DATAGRAM = 80  # worst case ~700 bytes an event

# The one definition of the events: name -> (field name, type) of the fields after the name. The
# constructors below, the records the decoder makes and docs/protocol.md are checked against it.
# "int" is an integer from 0 to MAX_INT, "str" a string of at most MAX_TEXT characters, "str?" a
# string or null, "text" a string of at most MAX_STACK characters.
EVENT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "begin": (
        ("task", "int"),
        ("t_ns", "int"),
        ("request", "int"),
        ("method", "str"),
        ("path", "str"),
        ("tag", "str?"),
    ),
    "end": (("task", "int"), ("t_ns", "int"), ("request", "int"), ("status", "str"), ("route", "str?")),
    "sent": (("run", "str"), ("index", "int"), ("t_ns", "int")),
    "reply": (("run", "str"), ("index", "int"), ("t_ns", "int"), ("status", "int")),
    "run_end": (("run", "str"), ("t_ns", "int"), ("reason", "str")),
    "phase": (("task", "int"), ("t_ns", "int"), ("phase", "str")),
    "stack": (("task", "int"), ("t_ns", "int"), ("frames", "text")),
    "queue": (("t_ns", "int"), ("depth", "int")),
    "sampling": (("t_ns", "int"), ("cost_ns", "int"), ("interval_ms", "int")),
    "stall": (("task", "int"), ("t_ns", "int")),
    "stall_end": (("task", "int"), ("t_ns", "int")),
}
# Fields added at the end of an event after its schema version was fixed: a source may leave them
# out (an agent of before), and they decode as null, so the version stays and older agents still
# count. Only a trailing "str?" field may be late.
LATE_FIELDS: dict[str, tuple[str, ...]] = {"end": ("route",)}
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
MAX_LISTEN = 8

TASK_KINDS = ("thread", "greenlet", "asyncio")
# Events are flat arrays of numbers and texts: no cycle to guard against, and skipping the check
# saves a fifth of the reporter's encoding time (measured: 0.80 -> 0.63 µs an event).
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
ROLES = ("worker", "loadgen")

# The header by which a load generator's request names its run and send time (`make_tag`), and
# the names a WSGI server and an ASGI server hand it to the agent under.
TAG_HEADER = "X-Threadpulse-Tag"
TAG_ENVIRON = "HTTP_" + TAG_HEADER.upper().replace("-", "_")
TAG_ASGI = TAG_HEADER.lower().encode("latin-1")

_PYTHON_TYPES = {"int": int, "str": str, "str?": str | None, "text": str}


def _record(kind: str, fields: tuple[tuple[str, str], ...]) -> type[tuple]:
    """The named record the decoder makes of one event kind, e.g. `stall_end` -> `StallEnd`; its
    late fields default to None, as they decode when a source leaves them out."""
    name = "".join(part.title() for part in kind.split("_"))
    late = [None] * len(LATE_FIELDS.get(kind, ()))
    record = namedtuple(name, [field for field, _ in fields], defaults=late)
    record.__annotations__ = {field: _PYTHON_TYPES[wire] for field, wire in fields}
    return record


RECORDS: dict[str, type[tuple]] = {kind: _record(kind, fields) for kind, fields in EVENT_FIELDS.items()}
Begin = RECORDS["begin"]
End = RECORDS["end"]
Sent = RECORDS["sent"]
Reply = RECORDS["reply"]
RunEnd = RECORDS["run_end"]
Phase = RECORDS["phase"]
Stack = RECORDS["stack"]
Queue = RECORDS["queue"]
Sampling = RECORDS["sampling"]
Stall = RECORDS["stall"]
StallEnd = RECORDS["stall_end"]


class ProtocolError(ValueError):
    """A datagram the collector must drop; `reason` is the short counter name shown on the page."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


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
class Source:
    """Who sent a datagram: one process, in one role, on one host, and its server when known."""

    host: str
    pid: int
    mode: str
    role: str
    server: Server | None = None


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
    events: tuple[tuple, ...]  # one record of RECORDS an event, oldest first
    # Events and roster entries that were not valid, dropped alone: their neighbours still count.
    bad_events: int = 0
    bad_tasks: int = 0


# The constructors: one per event kind, its parameters named as the event's fields. They are
# called on the request path, so each is a plain function returning a tuple (`end_event` took 58 ns
# here, the literal it replaced 48 ns), and they cut only texts that come from outside (a request's
# method, path and tag). A request is named by a number of its process (`request_name`).


def begin_event(task: int, t_ns: int, request: int, method: str, path: str, tag: str) -> tuple:
    """A task took a request; its texts cut to the limits here (WSGI and ASGI agents alike)."""
    return ("begin", task, t_ns, request, method[:16], path[:MAX_TEXT], tag[:MAX_TEXT] or None)


def end_event(task: int, t_ns: int, request: int, status: str, route: str | None = None) -> tuple:
    """The task finished the request: `status` is the HTTP status code, or "" when the app raised;
    `route` the app's rule that matched it (`/post/<int:post_id>`), None when the agent cannot see one."""
    return ("end", task, t_ns, request, status, route[:MAX_TEXT] if route else None)


def sent_event(run: str, index: int, t_ns: int) -> tuple:
    """The load generator sent request `index` of a run."""
    return ("sent", run, index, t_ns)


def reply_event(run: str, index: int, t_ns: int, status: int) -> tuple:
    """The load generator has the whole reply (status 0: none)."""
    return ("reply", run, index, t_ns, status)


def run_end_event(run: str, t_ns: int, reason: str) -> tuple:
    """The load generator is done with a run (`reason` empty when it went to plan)."""
    return ("run_end", run, t_ns, reason)


def phase_event(task: int, t_ns: int, phase: str) -> tuple:
    """The request's code declared what it does now: "cpu" or "io"."""
    return ("phase", task, t_ns, phase)


def stack_event(task: int, t_ns: int, frames: str) -> tuple:
    """Where a busy task's code is (the caller keeps `frames` under MAX_STACK)."""
    return ("stack", task, t_ns, frames)


def queue_event(t_ns: int, depth: int) -> tuple:
    """Accepted requests waiting inside this worker for a free thread."""
    return ("queue", t_ns, depth)


def sampling_event(t_ns: int, cost_ns: int, interval_ms: int) -> tuple:
    """What sampling stacks cost over the last second, and the sampler's interval now."""
    return ("sampling", t_ns, cost_ns, interval_ms)


def stall_event(task: int, t_ns: int) -> tuple:
    """The hub has not run since `t_ns` because `task` computes without yielding."""
    return ("stall", task, t_ns)


def stall_end_event(task: int, t_ns: int) -> tuple:
    """The hub ran again at `t_ns`."""
    return ("stall_end", task, t_ns)


def request_name(pid: int, number: int) -> str:
    """A request's name on the page and in the API, `PID-N`: the wire carries only N, a number
    of its process, which costs the request path no string formatting."""
    return f"{pid}-{number}"


def make_tag(run: str, index: int, sent_ns: int) -> str:
    """The TAG_HEADER value by which a request names its run and send time."""
    return f"{run}/{index}/{sent_ns}"


def parse_tag(tag: str | None) -> tuple[str, int, int] | None:
    """(run, index, sent_ns) from a tag, or None when absent or malformed (any client's input).

    Numbers are ASCII digits up to MAX_INT: `'²'.isdigit()` is True but `int('²')` raises, and a
    WSGI server hands header bytes over as latin-1, so any byte 0x80-0xFF can arrive.
    """
    if not tag:
        return None
    parts = tag.split("/")
    if len(parts) != 3 or not all(_is_count(part) for part in parts[1:]):
        return None
    return parts[0][:MAX_TEXT], int(parts[1]), int(parts[2])


def _is_count(text: str) -> bool:
    return text.isascii() and text.isdecimal() and int(text) <= MAX_INT


def encode(
    source: Source,
    seq: int,
    dropped: int,
    sent_ns: int,
    events: Sequence[Sequence[Any]],
    tasks: list[Task] | None = None,
) -> bytes:
    """One datagram's bytes. The caller keeps each under MAX_DATAGRAM_BYTES by batching."""
    src: dict[str, Any] = {"host": source.host, "pid": source.pid, "mode": source.mode, "role": source.role}
    if source.server is not None:
        server = source.server
        src["server"] = {name: getattr(server, name) for name, _ in SERVER_FIELDS[:-1]}
        src["server"]["listen"] = list(server.listen[:MAX_LISTEN])
    body: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "src": src,
        "seq": seq,
        "dropped": dropped,
        "t": sent_ns,
        "ev": events,
    }
    if tasks is not None:
        body["tasks"] = [[t.id, t.name, t.kind, t.native_id] for t in tasks]
    return _ENCODER.encode(body).encode()


def encode_batches(
    source: Source,
    seqs: Iterator[int],
    dropped: int,
    sent_ns: int,
    events: Sequence[Sequence[Any]],
    tasks: list[Task] | None = None,
) -> list[bytes]:
    """Datagrams carrying the roster (if given) and `events`, each under MAX_DATAGRAM_BYTES.

    The bounds make the size certain without measuring: at most MAX_ROSTER tasks with names of
    at most MAX_NAME characters, and EVENTS_PER_DATAGRAM events of at most ~3 texts each. The
    server's shape rides with the roster only: it changes never, the roster comes every second.
    """
    out = []
    if tasks is not None:
        out.append(encode(source, next(seqs), dropped, sent_ns, [], tasks[:MAX_ROSTER]))
    bare = replace(source, server=None) if source.server is not None else source
    for i in range(0, len(events), EVENTS_PER_DATAGRAM):
        part = events[i : i + EVENTS_PER_DATAGRAM]
        out.append(encode(bare, next(seqs), dropped, sent_ns, part))
    return out


def _check(value: Any, kind: str) -> bool:
    if kind == "int":
        return type(value) is int and 0 <= value <= MAX_INT
    if kind in ("str?", "int?") and value is None:
        return True
    if kind == "int?":
        return _check(value, "int")
    if kind == "list":
        return type(value) is list and len(value) <= MAX_LISTEN and all(_check(v, "str") for v in value)
    return type(value) is str and len(value) <= (MAX_STACK if kind == "text" else MAX_TEXT)


def _int(value: Any, name: str) -> int:
    if not _check(value, "int"):
        raise ProtocolError("bad_field", f"{name} must be an integer from 0 to 2**63 - 1")
    return value


# Per kind, what decoding needs: the record's maker, the wire types of its fields, and how many of
# them may be missing at the end (its late fields).
_DECODING = {
    kind: (
        partial(tuple.__new__, RECORDS[kind]),
        tuple(wire for _, wire in fields),
        len(LATE_FIELDS.get(kind, ())),
    )
    for kind, fields in EVENT_FIELDS.items()
}


def decode_event(event: Any) -> tuple:
    """The named record of one event as sent (`[name, field...]`, or a constructor's tuple when fed in
    process); ProtocolError if it is not one."""
    if (
        type(event) not in (list, tuple)
        or not event
        or type(event[0]) is not str
        or event[0] not in _DECODING
    ):
        raise ProtocolError("bad_event", "unknown event")
    make, types, late = _DECODING[event[0]]
    values = event[1:]
    missing = len(types) - len(values)
    if not 0 <= missing <= late or not all(map(_check, values, types)):
        raise ProtocolError("bad_event", event[0])
    return make(values) if not missing else make([*values, *(None,) * missing])


def decode(data: bytes) -> Datagram:
    """Validate and decode one datagram; raise ProtocolError (with a reason) for anything else."""
    if not data:
        raise ProtocolError("empty")
    if len(data) > MAX_DATAGRAM_BYTES:
        raise ProtocolError("oversize", f"{len(data)} bytes")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("not_json", str(exc)[:80]) from None
    if not isinstance(body, dict):
        raise ProtocolError("bad_shape", "not an object")
    if body.get("v") != SCHEMA_VERSION:
        raise ProtocolError("bad_version", repr(body.get("v"))[:20])
    src = body.get("src")
    if not isinstance(src, dict):
        raise ProtocolError("bad_shape", "src")
    host, mode, role = src.get("host"), src.get("mode"), src.get("role")
    if not (_check(host, "str") and _check(mode, "str") and role in ROLES):
        raise ProtocolError("bad_field", "src")
    source = Source(host, _int(src.get("pid"), "pid"), mode, role, _server(src.get("server")))
    seq = _int(body.get("seq"), "seq")
    dropped = _int(body.get("dropped"), "dropped")
    sent_ns = _int(body.get("t"), "t")
    events = body.get("ev")
    if not isinstance(events, list):
        raise ProtocolError("bad_shape", "ev")
    try:
        checked = tuple(map(decode_event, events))
    except ProtocolError:  # then the slow way: each bad event dropped alone, its neighbours kept
        checked = tuple(_valid_events(events))
    tasks = None
    if "tasks" in body:
        raw = body["tasks"]
        if not isinstance(raw, list):
            raise ProtocolError("bad_shape", "tasks")
        tasks = tuple(Task(*item) for item in raw if _is_task(item))
    bad_events = len(events) - len(checked)
    bad_tasks = 0 if tasks is None else len(body["tasks"]) - len(tasks)
    return Datagram(source, seq, dropped, sent_ns, tasks, checked, bad_events, bad_tasks)


def _server(raw: Any) -> Server | None:
    """`src.server` decoded; absent is None, anything malformed is a ProtocolError."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(_check(raw.get(name), wire) for name, wire in SERVER_FIELDS):
        raise ProtocolError("bad_field", "src.server")
    values = [raw[name] for name, _ in SERVER_FIELDS]
    return Server(*values[:-1], tuple(values[-1]))


def _valid_events(events: list) -> Iterator[tuple]:
    for event in events:
        try:
            yield decode_event(event)
        except ProtocolError:
            continue


def _is_task(item: Any) -> bool:
    return (
        isinstance(item, list)
        and len(item) == 4
        and all(map(_check, item, [kind for _, kind in TASK_FIELDS]))
        and len(item[1]) <= MAX_NAME
        and item[2] in TASK_KINDS
    )
