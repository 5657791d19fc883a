"""The dashboard's commands to its load generator: one JSON object a line on the generator's stdin.

One definition for both ends: LoadControl writes `Fire`, `Sustain` and `Cancel` with `encode`, the generator
reads them back with `parse`. A command is checked when it is made and again when it is read, so
the dashboard cannot write a line the generator refuses, and a line that is not a command (a
stray write, a version mismatch) is refused with a CommandError that says what is wrong.

    {"cmd": "fire", "run": "r3", "url": "http://127.0.0.1:8001", "method": "GET", "path": "/io?ms=500",
     "body": "", "count": 10}
    {"cmd": "sustain", "run": "r4", "url": "http://127.0.0.1:8001", "method": "GET", "path": "/hello",
     "body": "", "connections": 8, "seconds": 30, "mode": "closed", "rate": 0, "ramp_s": 5,
     "start_ns": 81234567890123}
    {"cmd": "cancel", "run": "r3", "reason": "stopped"}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

from dashboard.loadspec.errors import BadLoadRequest
from dashboard.loadspec.http_request import MAX_BODY, HttpRequest
from dashboard.loadspec.limits import MAX_COUNT
from dashboard.loadspec.plan import Plan

MAX_RUN = 60
MAX_TEXT = 2_000  # a URL
MAX_REASON = 200
# The longest line `encode` writes: a body's quotes and backslashes are escaped once more on the line,
# beside a URL, a path and a few numbers. The generator reads lines this long (asyncio's default of
# 64 KiB cut a body at the documented limit and killed the generator).
MAX_LINE = 2 * MAX_BODY + 4 * MAX_TEXT + 1_024


class CommandError(ValueError):
    """A line on the generator's stdin that is not a command; the message says why."""


def _text(command: str, name: str, value: object, most: int, prefix: str = "") -> None:
    if type(value) is not str or not 0 < len(value) <= most or not value.startswith(prefix):
        start = f" starting with {prefix!r}" if prefix else ""
        raise CommandError(f"{command}: {name} must be a string{start} of 1 to {most} characters")


def _request(command: str, method: object, path: object, body: object) -> HttpRequest:
    try:
        return HttpRequest(method, path, body)
    except BadLoadRequest as exc:
        raise CommandError(f"{command}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Fire:
    """Send `count` requests `method path` (with `body`, JSON text or "") to the server at `url`
    at once, as run `run`."""

    cmd: ClassVar[str] = "fire"
    run: str
    url: str
    method: str
    path: str
    body: str
    count: int

    def __post_init__(self) -> None:
        _text(self.cmd, "run", self.run, MAX_RUN)
        _text(self.cmd, "url", self.url, MAX_TEXT, "http://")
        _request(self.cmd, self.method, self.path, self.body)
        if type(self.count) is not int or not 1 <= self.count <= MAX_COUNT:
            raise CommandError(f"fire: count must be an integer from 1 to {MAX_COUNT}")

    def request(self) -> HttpRequest:
        return HttpRequest(self.method, self.path, self.body)


@dataclass(frozen=True, slots=True)
class Sustain:
    """Keep sustained load (loadspec/plan.py) on the server at `url` as run `run`, until done or cancelled."""

    cmd: ClassVar[str] = "sustain"
    run: str
    url: str
    method: str
    path: str
    body: str
    connections: int
    seconds: int
    mode: str
    rate: int
    ramp_s: int
    start_ns: int  # the schedule's origin on the host's monotonic clock

    def __post_init__(self) -> None:
        _text(self.cmd, "run", self.run, MAX_RUN)
        _text(self.cmd, "url", self.url, MAX_TEXT, "http://")
        self.plan()
        if type(self.start_ns) is not int or self.start_ns < 0:
            raise CommandError("sustain: start_ns must be a non-negative integer")

    def plan(self) -> Plan:
        request = _request(self.cmd, self.method, self.path, self.body)
        try:
            return Plan(request, self.connections, self.seconds, self.mode, self.rate, self.ramp_s).checked()
        except BadLoadRequest as exc:
            raise CommandError(f"{self.cmd}: {exc}") from None

    @classmethod
    def of(cls, run: str, url: str, plan: Plan, start_ns: int) -> Sustain:
        """The command that carries `plan`."""
        request = plan.request
        return cls(
            run, url, request.method, request.path, request.body,
            plan.connections, plan.seconds, plan.mode, plan.rate, plan.ramp_s, start_ns,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cut run `run` short; its `run_end` event carries `reason`."""

    cmd: ClassVar[str] = "cancel"
    run: str
    reason: str

    def __post_init__(self) -> None:
        _text(self.cmd, "run", self.run, MAX_RUN)
        _text(self.cmd, "reason", self.reason, MAX_REASON)


Command = Fire | Sustain | Cancel
COMMANDS: dict[str, type[Command]] = {Fire.cmd: Fire, Sustain.cmd: Sustain, Cancel.cmd: Cancel}


def encode(command: Command) -> bytes:
    """The line that carries `command`, newline included."""
    return json.dumps({"cmd": command.cmd, **asdict(command)}).encode() + b"\n"


def parse(line: bytes) -> Command:
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
