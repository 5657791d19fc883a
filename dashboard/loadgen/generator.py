"""`python -m dashboard.loadgen.generator --collector udp://HOST:PORT`: the load generator process.

Started once with the dashboard and kept warm, so a click fires requests within milliseconds
(starting a Python process per burst cost 0.4–1 s here). It reads one command a line on stdin
(`fire`, `sustain` or `cancel`, defined in `commands.py`) and exits when stdin closes, that is when the
dashboard goes. It touches its heartbeat file every HEARTBEAT_S from the same event loop that sends
the requests, so the dashboard can tell a generator that stopped answering (SIGSTOP, a hung loop)
from one with nothing to report, and end its runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path

from dashboard.config import SWITCH_INTERVAL_S
from dashboard.loadgen.burst import fire
from dashboard.loadgen.commands import MAX_LINE, Cancel, CommandError, Fire, Sustain, parse
from dashboard.loadgen.reporting import reporting_to
from dashboard.loadgen.sustained import sustain
from threadpulse_agent.recorder import Recorder

HEARTBEAT_S = 0.5


class Runs:
    """The runs in flight (bursts and sustained load), and why each was cut short if it was."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.tasks: dict[str, asyncio.Task] = {}
        self.reasons: dict[str, str] = {}

    def handle(self, line: bytes) -> None:
        """Carry out one command; a malformed one is reported on stderr and ignored."""
        try:
            command = parse(line)
        except CommandError as exc:
            print(f"generator: ignored command {line[:80]!r}: {exc}", file=sys.stderr, flush=True)
            return
        run, why_cut, recorder = command.run, self._why_cut(command.run), self.recorder
        match command:
            case Fire():
                self._start(run, fire(command.url, command.request(), run, command.count, recorder, why_cut))
            case Sustain():
                plan, start_ns = command.plan(), command.start_ns
                self._start(run, sustain(command.url, plan, run, recorder, why_cut, start_ns))
            case Cancel() if command.run in self.tasks:
                self.reasons[command.run] = command.reason
                self.tasks[command.run].cancel()

    def _why_cut(self, run: str) -> Callable[[], str]:
        return lambda: self.reasons.pop(run, "cut short")

    def _start(self, run: str, work: Coroutine) -> None:
        task = asyncio.create_task(work)
        self.tasks[run] = task
        task.add_done_callback(lambda _: self.tasks.pop(run, None))

    async def cancel_all(self) -> None:
        for run, task in list(self.tasks.items()):
            self.reasons[run] = "the dashboard stopped"
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


async def beat(path: Path) -> None:
    """Touch `path` every HEARTBEAT_S: the dashboard's sign that this loop still turns."""
    while True:
        with contextlib.suppress(OSError):  # its folder removed: the dashboard is going
            path.touch()
        await asyncio.sleep(HEARTBEAT_S)


async def serve(recorder: Recorder, heartbeat: Path) -> None:
    """Read commands until stdin closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    beating = asyncio.create_task(beat(heartbeat))
    runs = Runs(recorder)
    while line := await reader.readline():
        runs.handle(line)
    beating.cancel()
    await runs.cancel_all()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collector", required=True, help="udp://HOST:PORT of the dashboard's collector")
    parser.add_argument("--heartbeat", type=Path, required=True, help="file touched while the loop turns")
    args = parser.parse_args(argv)
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # the loop must not wait out the reporter's encoding
    with reporting_to(args.collector, parser) as recorder:
        asyncio.run(serve(recorder, args.heartbeat))


if __name__ == "__main__":
    main()
