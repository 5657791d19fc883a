"""Reads a recording whole before the dashboard serves it: a file it cannot replay stops the
start with the line that is wrong; a file cut off mid-line (a crash while recording) replays up to
its last whole line, with a warning."""

from __future__ import annotations

import json
import math
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dashboard.config import DEFAULT_CAP_MB
from dashboard.model.events import Datagrams, Event
from dashboard.recording.codec import BadEvent, from_json
from dashboard.recording.fileformat import FORMAT, SCHEMA, Header, open_for_reading
from dashboard.recording.schema import BadField, check
from threadpulse_agent.reporter import wire_host

MAX_LINE_BYTES = 1 << 20  # the largest line the writer makes is one batch of 512 datagrams (~300 KB)
DEFAULT_MAX_EVENTS = 500_000  # run.py --replay-max-events; ~7.7 hours of a busy scene (docs/recording.md)
MAX_EVENTS_CAP = 100_000_000  # the most --replay-max-events may be set to


class RecordingError(ValueError):
    """A recording the dashboard will not replay; the message names the file and the line."""


@dataclass(frozen=True)
class Recording:
    header: dict
    events: tuple[Event, ...]
    warning: str | None = None  # a last line cut off, left out

    @property
    def start_ns(self) -> int:
        return self.header["started_ns"]

    @property
    def end_ns(self) -> int:
        return self.events[-1].t_ns if self.events else self.start_ns

    @property
    def host(self) -> str:
        """The recording dashboard's host, as its agents named it: the host of the pids its own
        events name without one (/proc samples, the servers it started)."""
        return wire_host(self.header["host"])


def read_recording(
    path: Path, cap_bytes: int = DEFAULT_CAP_MB << 20, max_events: int = DEFAULT_MAX_EVENTS
) -> Recording:
    """The header and every event of `path`; RecordingError for anything it cannot replay.

    Read a chunk at a time and each line parsed as it comes, so what is held is the events alone
    (the whole file's bytes, then its lines, were held beside them: 692 MB at the peak for a
    90 MB file, issue 17 fault 6); `max_events` bounds them, as `cap_bytes` bounds the file."""
    path = Path(path)
    try:
        _check_regular(path)
        with open_for_reading(path) as file:
            lines = _Lines(path, file, cap_bytes)
            numbered = enumerate(lines, start=1)
            number, first = next(numbered, (1, None))
            if first is None:
                raise RecordingError(f"{path}: line 1: empty file, no header")
            head = _header(path, _parse(path, 1, first))
            events: list[Event] = []
            last_ns = head["started_ns"]
            for number, line in numbered:
                if len(events) == max_events:
                    raise RecordingError(
                        f"{path}: line {number}: more than {max_events:,} events, the cap"
                        " (run.py --replay-max-events sets it; a replay holds every event in memory)"
                    )
                try:
                    event = from_json(_parse(path, number, line))
                except BadEvent as exc:
                    raise RecordingError(f"{path}: line {number}: {exc}") from None
                if event.t_ns < last_ns:
                    raise RecordingError(
                        f"{path}: line {number}: its time runs backwards ({event.t_ns} < {last_ns})"
                    )
                last_ns = event.t_ns
                if type(event) is Datagrams:  # a replay never records: not the text it was read from
                    event = event._replace(raw=())  # (~380 bytes a batch; fold uses what was decoded)
                events.append(event)
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror or exc}") from None
    warning = None
    if lines.rest:  # no newline at the end: the writer stopped mid-line
        warning = (
            f"{path}: line {number + 1} is cut off (the recording ended mid-line);"
            f" replaying up to line {number}"
        )
    return Recording(head, tuple(events), warning)


class _Lines:
    """The whole lines of an open recording, read a chunk at a time; once read, `rest` holds what
    follows the last newline (a line cut off). A gzip stream cut short gives what it held."""

    def __init__(self, path: Path, file: IO[bytes], cap_bytes: int) -> None:
        self.path, self.file, self.cap_bytes = path, file, cap_bytes
        self.rest = b""

    def __iter__(self) -> Iterator[bytes]:
        size, count = 0, 0
        while chunk := self._chunk():
            size += len(chunk)
            if size > self.cap_bytes:
                cap_mb = self.cap_bytes / (1 << 20)
                raise RecordingError(
                    f"{self.path}: larger than the cap of {cap_mb:g} MB (run.py --record-cap-mb)"
                )
            *whole, self.rest = (self.rest + chunk).split(b"\n")
            if len(self.rest) > MAX_LINE_BYTES:
                raise RecordingError(
                    f"{self.path}: line {count + len(whole) + 1}: longer than {MAX_LINE_BYTES} bytes"
                )
            count += len(whole)
            yield from whole

    def _chunk(self) -> bytes:
        try:
            return self.file.read1(1 << 16)  # read1: a stream cut short keeps what it held
        except (EOFError, zlib.error):
            return b""  # a gzip file whose writer died: its last line is then cut off, and said so
        except OSError as exc:  # gzip.BadGzipFile: not gzip at all
            raise RecordingError(f"{self.path}: line 1: not a gzip file ({exc})") from None


def _check_regular(path: Path) -> None:
    """Refuse what is not a plain file before opening it: opening a FIFO waits for a writer that
    may never come, and a device never ends."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"))
        what = next((name for test, name in kinds if test(mode)), "a device")
        raise RecordingError(f"{path}: is {what}, not a regular file: give the path of a recording file")


class NotFinite(str):
    """NaN, Infinity or a number too large for a float, kept as its text: a number field's check
    refuses it by name, and where no field is checked it is only text (JSON has no NaN)."""

    def __repr__(self) -> str:
        return str(self)


def _parse(path: Path, number: int, line: bytes) -> object:
    if len(line) > MAX_LINE_BYTES:
        raise RecordingError(f"{path}: line {number}: longer than {MAX_LINE_BYTES} bytes")
    try:
        return _DECODER.decode(line.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise RecordingError(f"{path}: line {number}: not JSON ({str(exc)[:80]})") from None


def _float(text: str) -> float | NotFinite:
    value = float(text)
    return value if math.isfinite(value) else NotFinite(text[:20])


_DECODER = json.JSONDecoder(
    parse_constant=NotFinite, parse_float=_float
)  # json.loads with hooks makes one a line


def _header(path: Path, head: object) -> dict:
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise RecordingError(f"{path}: line 1: not a Threadpulse recording (no {FORMAT!r} header)")
    try:
        check(head, Header)
    except BadField as exc:
        raise RecordingError(f"{path}: line 1: the header's {exc}") from None
    if head["schema"] > SCHEMA:
        raise RecordingError(
            f"{path}: line 1: recording schema {head['schema']} is newer than this dashboard reads"
            f" ({SCHEMA}); replay it with a newer Threadpulse"
        )
    return head
