"""Reads a recording whole before the dashboard serves it: a file it cannot replay stops the
start with the line that is wrong; a file cut off mid-line (a crash while recording) replays up to
its last whole line, with a warning."""

from __future__ import annotations

import json
import math
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path

from dashboard.recording.events import BadEvent, Event, from_json
from dashboard.recording.fileformat import DEFAULT_CAP_MB, FORMAT, SCHEMA, Header, open_for_reading
from dashboard.recording.schema import BadField, check

MAX_LINE_BYTES = 1 << 20  # the largest line the writer makes is one batch of 512 datagrams (~300 KB)


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


def read_recording(path: Path, cap_bytes: int = DEFAULT_CAP_MB << 20) -> Recording:
    """The header and every event of `path`; RecordingError for anything it cannot replay."""
    path = Path(path)
    try:
        _check_regular(path)
        data = _read(path, cap_bytes)
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    warning = None
    if lines[-1]:  # no newline at the end: the writer stopped mid-line
        warning = (
            f"{path}: line {len(lines)} is cut off (the recording ended mid-line);"
            f" replaying up to line {len(lines) - 1}"
        )
    lines.pop()
    if not lines:
        raise RecordingError(f"{path}: line 1: empty file, no header")
    head = _header(path, _parse(path, 1, lines[0]))
    events = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            events.append(from_json(_parse(path, number, line)))
        except BadEvent as exc:
            raise RecordingError(f"{path}: line {number}: {exc}") from None
    times = [head["started_ns"], *(event.t_ns for event in events)]
    for number, (earlier, later) in enumerate(zip(times, times[1:], strict=False), start=2):
        if later < earlier:
            raise RecordingError(f"{path}: line {number}: its time runs backwards ({later} < {earlier})")
    return Recording(head, tuple(events), warning)


def _check_regular(path: Path) -> None:
    """Refuse what is not a plain file before opening it: opening a FIFO waits for a writer that
    may never come, and a device never ends."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"))
        what = next((name for test, name in kinds if test(mode)), "a device")
        raise RecordingError(f"{path}: is {what}, not a regular file: give the path of a recording file")


def _read(path: Path, cap_bytes: int) -> bytes:
    """The file's (uncompressed) bytes; a gzip stream cut short gives what it held."""
    chunks, size = [], 0
    with open_for_reading(path) as file:
        try:
            while chunk := file.read1(1 << 16):  # read1: a stream cut short keeps what it held
                size += len(chunk)
                if size > cap_bytes:
                    cap_mb = cap_bytes / (1 << 20)
                    raise RecordingError(
                        f"{path}: larger than the cap of {cap_mb:g} MB (run.py --record-cap-mb)"
                    )
                chunks.append(chunk)
        except (EOFError, zlib.error):
            pass  # a gzip file whose writer died: its last line is then cut off, and said so
        except OSError as exc:  # gzip.BadGzipFile: not gzip at all
            raise RecordingError(f"{path}: line 1: not a gzip file ({exc})") from None
    return b"".join(chunks)


class NotFinite(str):
    """NaN, Infinity or a number too large for a float, kept as its text: a number field's check
    refuses it by name, and where no field is checked it is only text (JSON has no NaN)."""

    def __repr__(self) -> str:
        return str(self)


def _parse(path: Path, number: int, line: bytes) -> object:
    if len(line) > MAX_LINE_BYTES:
        raise RecordingError(f"{path}: line {number}: longer than {MAX_LINE_BYTES} bytes")
    try:
        return json.loads(line, parse_constant=NotFinite, parse_float=_float)
    except (ValueError, RecursionError) as exc:
        raise RecordingError(f"{path}: line {number}: not JSON ({str(exc)[:80]})") from None


def _float(text: str) -> float | NotFinite:
    value = float(text)
    return value if math.isfinite(value) else NotFinite(text[:20])


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
