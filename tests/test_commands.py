"""The load generator's commands: what LoadControl writes is what the generator reads, and a line
that is not a command is refused with a message saying why, never a crash of the generator."""

from __future__ import annotations

import json

import pytest

from dashboard.loadgen import commands
from dashboard.loadgen.commands import Cancel, CommandError, Fire, Sustain, encode, parse
from dashboard.loadgen.generator import Runs
from dashboard.loadspec.http_request import MAX_BODY, MAX_PATH
from dashboard.loadspec.limits import MAX_COUNT
from threadpulse_agent.recorder import Recorder


@pytest.mark.parametrize(
    "command",
    [
        Fire("r1", "http://127.0.0.1:8001", "GET", "/io?ms=500", "", 10),
        Fire("r2", "http://127.0.0.1:8001", "POST", "/items?x=1", '{"name":"a"}', 3),
        Sustain("r3", "http://127.0.0.1:8001", "PUT", "/items/1", "[1]", 8, 30, "rate", 200, 5, 10**12),
        Cancel("r1", "stopped by the presenter"),
    ],
)
def test_every_command_written_is_read_back_the_same(command):
    line = encode(command)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse(line) == command


def test_every_command_is_documented_in_the_modules_docstring():
    """The docstring shows one example per command (wrapped over lines where long); each must parse."""
    examples, current = [], ""
    for text in (line.strip() for line in commands.__doc__.splitlines()):
        if text.startswith("{") or current:
            current += " " + text
            if text.endswith("}"):
                examples.append(current.strip())
                current = ""
    assert sorted(parse(line.encode()).cmd for line in examples) == sorted(commands.COMMANDS)


def line(**body) -> bytes:
    return json.dumps(body).encode()


FIRE = {
    "cmd": "fire",
    "run": "r1",
    "url": "http://h:1",
    "method": "GET",
    "path": "/hello",
    "body": "",
    "count": 3,
}
SUSTAIN = {
    **FIRE, "cmd": "sustain", "connections": 4, "seconds": 10, "mode": "closed", "rate": 0, "ramp_s": 0,
    "start_ns": 1,
}  # fmt: skip
del SUSTAIN["count"]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "not JSON"),
        (b"fire r1", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (line(cmd="explode"), "unknown command 'explode': expected one of fire, sustain, cancel"),
        (line(run="r1"), "unknown command None"),
        (line(**{k: v for k, v in FIRE.items() if k != "count"}), "fire: missing count"),
        (line(**FIRE, speed=9), "fire: unknown field speed"),
        (line(**{**FIRE, "count": 0}), f"from 1 to {MAX_COUNT}"),
        (line(**{**FIRE, "count": MAX_COUNT + 1}), f"from 1 to {MAX_COUNT}"),
        (line(**{**FIRE, "count": True}), "fire: count must be an integer"),
        (line(**{**FIRE, "count": "3"}), "fire: count must be an integer"),
        (line(**{**FIRE, "run": "r" * 61}), "fire: run must be a string of 1 to 60 characters"),
        (line(**{**FIRE, "url": "file:///etc/passwd"}), "url must be a string starting with 'http://'"),
        (line(**{**FIRE, "path": "hello"}), "fire: path must be an absolute path"),
        (line(**{**FIRE, "path": "/a b"}), "fire: path must be printable ASCII"),
        (line(**{**FIRE, "method": "TRACE"}), "fire: method must be one of"),
        (line(**{**FIRE, "body": "{}"}), "fire: a body goes with POST"),
        (line(**{**SUSTAIN, "connections": 0}), "sustain: connections must be from 1"),
        (line(**{**SUSTAIN, "mode": "open"}), "sustain: mode must be one of closed, rate"),
        (line(**{**SUSTAIN, "ramp_s": 11}), "sustain: ramp_s must be from 0 to 10"),
        (line(**{**SUSTAIN, "start_ns": -1}), "sustain: start_ns must be a non-negative integer"),
        (line(**{k: v for k, v in SUSTAIN.items() if k != "rate"}), "sustain: missing rate"),
        (line(cmd="cancel", run="r1"), "cancel: missing reason"),
        (line(cmd="cancel", run="r1", reason=5), "cancel: reason must be a string"),
    ],
)
def test_a_line_that_is_not_a_command_is_refused_saying_why(data, says):
    with pytest.raises(CommandError) as caught:
        parse(data)
    assert says in str(caught.value)


def test_the_dashboard_cannot_make_a_command_the_generator_would_refuse():
    with pytest.raises(CommandError):
        Fire("r1", "http://h:1", "GET", "/hello", "", MAX_COUNT + 1)
    with pytest.raises(CommandError):
        Sustain("r1", "http://h:1", "GET", "/hello", "", 1, 10, "rate", 0, 0, 1)  # a rate of 0
    with pytest.raises(CommandError):
        Cancel("r1", "x" * 1_000)


def test_the_generator_reports_a_bad_line_on_stderr_and_carries_on(capsys):
    runs = Runs(Recorder())
    runs.handle(b'{"cmd": "explode"}\n')
    runs.handle(encode(Cancel("r9", "no such run")))  # a run it does not hold: nothing to cut
    assert runs.tasks == {}
    err = capsys.readouterr().err
    assert err.count("ignored command") == 1 and "unknown command 'explode'" in err


def test_the_longest_command_fits_the_line_the_generator_reads():
    """Issue 17 (also): a body at the documented limit made a line over asyncio's 64 KiB readline
    limit, and the generator died (the run failed, "the load generator exited with code 1"). The
    worst body escapes every character once more on the line; it still fits MAX_LINE."""
    url, path = "http://" + "h" * (commands.MAX_TEXT - 12) + ":1", "/" + "p" * (MAX_PATH - 1)
    longest = Fire("r" * commands.MAX_RUN, url, "POST", path, '"' * MAX_BODY, MAX_COUNT)
    assert len(encode(longest)) + 200 <= commands.MAX_LINE  # room for a sustained run's few numbers
