"""What the collector receives: a datagram checked and decoded into a `Datagram` of named records
(schema.py). Every datagram is untrusted input: anything malformed is a ProtocolError naming the
reason it is counted under, and one bad event or roster entry is dropped alone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, cast

from threadpulse_agent.schema import (
    EVENT_FIELDS,
    LATE_FIELDS,
    MAX_DATAGRAM_BYTES,
    MAX_INT,
    MAX_LISTEN,
    MAX_NAME,
    MAX_STACK,
    MAX_TEXT,
    PYTHON_FIELDS,
    RECORDS,
    ROLES,
    SCHEMA_VERSION,
    SERVER_FIELDS,
    TASK_FIELDS,
    TASK_KINDS,
    Datagram,
    Event,
    Python,
    Server,
    Source,
    Task,
)


class ProtocolError(ValueError):
    """A datagram the collector must drop; `reason` is the short counter name shown on the page."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _check(value: Any, kind: str) -> bool:
    if kind == "int":
        return type(value) is int and 0 <= value <= MAX_INT
    if kind == "bool":
        return type(value) is bool
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


# Per kind, what decoding needs: the record's maker (tuple.__new__ skips the record's own argument
# handling: the values are checked already), the wire types of its fields, and how many of them may
# be missing at the end (its late fields).
_DECODING: dict[str, tuple[Callable[[Any], Event], tuple[str, ...], int]] = {
    kind: (
        cast("Callable[[Any], Event]", partial(tuple.__new__, RECORDS[kind])),
        tuple(wire for _, wire in fields),
        len(LATE_FIELDS.get(kind, ())),
    )
    for kind, fields in EVENT_FIELDS.items()
}


def decode_event(event: Any) -> Event:
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
    host: Any = src.get("host")
    mode: Any = src.get("mode")
    role = src.get("role")
    if not (_check(host, "str") and _check(mode, "str") and role in ROLES):
        raise ProtocolError("bad_field", "src")
    server, python = _server(src.get("server")), _python(src.get("python"))
    source = Source(host, _int(src.get("pid"), "pid"), mode, role, server, python)
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
    fields = {name: raw[name] for name, _ in SERVER_FIELDS}
    return Server(**{**fields, "listen": tuple(fields["listen"])})


def _python(raw: Any) -> Python | None:
    """`src.python` decoded; absent is None, anything malformed is a ProtocolError."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(_check(raw.get(name), wire) for name, wire in PYTHON_FIELDS):
        raise ProtocolError("bad_field", "src.python")
    return Python(**{name: raw[name] for name, _ in PYTHON_FIELDS})


def _valid_events(events: list) -> Iterator[Event]:
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
