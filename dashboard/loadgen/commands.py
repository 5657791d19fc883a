"""The dashboard's commands to its load generator: one JSON object a line on the generator's stdin.

One definition for both ends: LoadControl writes `Fire` and `Cancel` with `encode`, the generator
reads them back with `parse`. A command is checked when it is made and again when it is read, so
the dashboard cannot write a line the generator refuses, and a line that is not a command (a
stray write, a version mismatch) is refused with a CommandError that says what is wrong.

    {"cmd": "fire", "run": "r3", "url": "http://127.0.0.1:8001", "path": "/io?ms=500", "count": 10}
    {"cmd": "cancel", "run": "r3", "reason": "stopped"}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

from dashboard.loadgen.limits import MAX_COUNT

MAX_RUN = 60
MAX_TEXT = 2_000  # a URL or a path
MAX_REASON = 200


class CommandError(ValueError):
    """A line on the generator's stdin that is not a command; the message says why."""


def _text(command: str, name: str, value: object, most: int, prefix: str = "") -> None:
    if type(value) is not str or not 0 < len(value) <= most or not value.startswith(prefix):
        start = f" starting with {prefix!r}" if prefix else ""
        raise CommandError(f"{command}: {name} must be a string{start} of 1 to {most} characters")


@dataclass(frozen=True, slots=True)
class Fire:
    """Send `count` requests for `path` to the server at `url` at once, as run `run`."""

    cmd: ClassVar[str] = "fire"
    run: str
    url: str
    path: str
    count: int

    def __post_init__(self) -> None:
        _text(self.cmd, "run", self.run, MAX_RUN)
        _text(self.cmd, "url", self.url, MAX_TEXT, "http://")
        _text(self.cmd, "path", self.path, MAX_TEXT, "/")
        if type(self.count) is not int or not 1 <= self.count <= MAX_COUNT:
            raise CommandError(f"fire: count must be an integer from 1 to {MAX_COUNT}")


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cut run `run` short; its `run_end` event carries `reason`."""

    cmd: ClassVar[str] = "cancel"
    run: str
    reason: str

    def __post_init__(self) -> None:
        _text(self.cmd, "run", self.run, MAX_RUN)
        _text(self.cmd, "reason", self.reason, MAX_REASON)


COMMANDS: dict[str, type[Fire] | type[Cancel]] = {Fire.cmd: Fire, Cancel.cmd: Cancel}


def encode(command: Fire | Cancel) -> bytes:
    """The line that carries `command`, newline included."""
    return json.dumps({"cmd": command.cmd, **asdict(command)}).encode() + b"\n"


def parse(line: bytes) -> Fire | Cancel:
    """The command a line carries; CommandError, saying what is wrong, for anything else."""
    try:
        body = json.loads(line)
    except (ValueError, RecursionError):
        raise CommandError("not JSON") from None
    if not isinstance(body, dict):
        raise CommandError("not a JSON object")
    kind = body.pop("cmd", None)
    command = COMMANDS.get(kind) if isinstance(kind, str) else None
    if command is None:
        raise CommandError(f"unknown command {kind!r}: expected one of {', '.join(COMMANDS)}")
    names = [field.name for field in fields(command)]
    missing = [name for name in names if name not in body]
    if missing:
        raise CommandError(f"{kind}: missing {', '.join(missing)}")
    unknown = sorted(set(body) - set(names))
    if unknown:
        raise CommandError(f"{kind}: unknown field {', '.join(map(str, unknown))}")
    return command(**body)
