"""The wire format from sources (agents, load generator) to the collector: one module, one doc.

Every datagram is one UTF-8 JSON object; `docs/protocol.md` documents each field, and
`tests/test_protocol.py` fails when the two drift apart. Sources only encode; the collector only
decodes, and treats every datagram as untrusted input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 2  # 2: a request is named by a number of its process, not a "PID-N" string
MAX_DATAGRAM_BYTES = 60_000
MAX_TEXT = 200
MAX_STACK = 600
MAX_NAME = 60
MAX_ROSTER = 400
MAX_INT = 2**63 - 1  # nanoseconds of monotonic clock fit; larger would overflow the model's floats
EVENTS_PER_DATAGRAM = 80  # worst case ~700 bytes an event

# Event name -> (field name, type) of the fields after the name. "int" is an integer from 0 to
# MAX_INT, "str" a string of at most MAX_TEXT characters, "str?" a string or null, "text" a
# string of at most MAX_STACK characters.
EVENT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "begin": (
        ("task", "int"),
        ("t_ns", "int"),
        ("request", "int"),
        ("method", "str"),
        ("path", "str"),
        ("tag", "str?"),
    ),
    "end": (("task", "int"), ("t_ns", "int"), ("request", "int"), ("status", "str")),
    "run_start": (("run", "str"), ("t_ns", "int"), ("count", "int")),
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
DATAGRAM_FIELDS = ("v", "src", "seq", "dropped", "t", "ev", "tasks")
TASK_FIELDS = (("id", "int"), ("name", "str"), ("kind", "str"), ("native_id", "int"))

TASK_KINDS = ("thread", "greenlet", "asyncio")
# Events are flat arrays of numbers and texts: no cycle to guard against, and skipping the check
# saves a fifth of the reporter's encoding time (measured: 0.80 -> 0.63 µs an event).
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
ROLES = ("worker", "loadgen")


class ProtocolError(ValueError):
    """A datagram the collector must drop; `reason` is the short counter name shown on the page."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Source:
    """Who sent a datagram: one process, in one role, on one host."""

    host: str
    pid: int
    mode: str
    role: str


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
    events: tuple[tuple[Any, ...], ...]


def begin_event(task: int, t_ns: int, request_id: int, method: str, path: str, tag: str) -> tuple:
    """A request's `begin` event, its texts cut to the limits here (WSGI and ASGI agents alike)."""
    return ("begin", task, t_ns, request_id, method[:16], path[:MAX_TEXT], tag[:MAX_TEXT] or None)


def request_name(pid: int, number: int) -> str:
    """A request's name on the page and in the API, `PID-N`: the wire carries only N, a number
    of its process, which costs the request path no string formatting."""
    return f"{pid}-{number}"


def make_tag(run: str, index: int, sent_ns: int) -> str:
    """The X-Threadpulse-Tag header value by which a request names its run and send time."""
    return f"{run}/{index}/{sent_ns}"


def parse_tag(tag: str | None) -> tuple[str, int, int] | None:
    """(run, index, sent_ns) from a tag, or None when absent or malformed (it is client input)."""
    if not tag:
        return None
    parts = tag.split("/")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0][:MAX_TEXT], int(parts[1]), int(parts[2])


def encode(
    source: Source,
    seq: int,
    dropped: int,
    sent_ns: int,
    events: Sequence[Sequence[Any]],
    tasks: list[Task] | None = None,
) -> bytes:
    """One datagram's bytes. The caller keeps each under MAX_DATAGRAM_BYTES by batching."""
    body: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "src": {"host": source.host, "pid": source.pid, "mode": source.mode, "role": source.role},
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
    at most MAX_NAME characters, and EVENTS_PER_DATAGRAM events of at most ~3 texts each.
    """
    out = []
    if tasks is not None:
        out.append(encode(source, next(seqs), dropped, sent_ns, [], tasks[:MAX_ROSTER]))
    for i in range(0, len(events), EVENTS_PER_DATAGRAM):
        part = events[i : i + EVENTS_PER_DATAGRAM]
        out.append(encode(source, next(seqs), dropped, sent_ns, part))
    return out


def _check(value: Any, kind: str) -> bool:
    if kind == "int":
        return type(value) is int and 0 <= value <= MAX_INT
    if kind == "str?" and value is None:
        return True
    return type(value) is str and len(value) <= (MAX_STACK if kind == "text" else MAX_TEXT)


def _int(value: Any, name: str) -> int:
    if not _check(value, "int"):
        raise ProtocolError("bad_field", f"{name} must be an integer from 0 to 2**63 - 1")
    return value


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
    source = Source(host, _int(src.get("pid"), "pid"), mode, role)
    seq = _int(body.get("seq"), "seq")
    dropped = _int(body.get("dropped"), "dropped")
    sent_ns = _int(body.get("t"), "t")
    events = body.get("ev")
    if not isinstance(events, list):
        raise ProtocolError("bad_shape", "ev")
    checked = []
    for event in events:
        if (
            not isinstance(event, list)
            or not event
            or not isinstance(event[0], str)
            or event[0] not in EVENT_FIELDS
        ):
            raise ProtocolError("bad_event", "unknown event")
        types = [kind for _, kind in EVENT_FIELDS[event[0]]]
        if len(event) != len(types) + 1 or not all(map(_check, event[1:], types)):
            raise ProtocolError("bad_event", event[0])
        checked.append(tuple(event))
    tasks = None
    if "tasks" in body:
        raw = body["tasks"]
        if not isinstance(raw, list):
            raise ProtocolError("bad_shape", "tasks")
        tasks = []
        for item in raw:
            if (
                not isinstance(item, list)
                or len(item) != 4
                or not all(map(_check, item, [kind for _, kind in TASK_FIELDS]))
                or len(item[1]) > MAX_NAME
                or item[2] not in TASK_KINDS
            ):
                raise ProtocolError("bad_task")
            tasks.append(Task(*item))
        tasks = tuple(tasks)
    return Datagram(source, seq, dropped, sent_ns, tasks, tuple(checked))
