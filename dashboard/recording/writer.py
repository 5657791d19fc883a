"""Writes the event log to a file without ever holding up the collector.

The store hands each event to `offer` under its lock: a put on a bounded queue that drops (and
counts) rather than waits. One writer thread encodes and writes. At the size cap the recording
stops with a message saying so; the file is never larger than the cap plus one line.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from pathlib import Path
from typing import IO

from dashboard.config import DEFAULT_CAP_MB
from dashboard.model.events import Ended, Event
from dashboard.recording.codec import to_json
from dashboard.recording.fileformat import header, open_for_writing

log = logging.getLogger(__name__)

# ~1.3 s of a 50,000 events/s flood; the writer kept up with one here (100,000 small events,
# written 0.7-1.4 s after the last was offered, under a load average of 16).
QUEUE_EVENTS = 65_536


class Recorder:
    """One recording: from `start` to `stop` (or the cap)."""

    def __init__(
        self, path: Path, cap_bytes: int = DEFAULT_CAP_MB << 20, queue_events: int = QUEUE_EVENTS
    ) -> None:
        self.path = Path(path)
        self.cap_bytes = cap_bytes
        self.offered = 0  # events handed to it (written + dropped, once it has stopped)
        self.events = 0
        self.dropped = 0  # events the queue had no room for
        self.bytes = 0  # uncompressed bytes written
        self.stopped_why: str | None = None  # set once it ends; the page shows it
        self._closing = False
        self._end_ns: int | None = None
        self._capped = False
        self._queue: queue.Queue[Event | None] = queue.Queue(queue_events)
        self._file: IO[bytes] | None = None
        self._thread = threading.Thread(target=self._write, name="threadpulse-recorder", daemon=True)
        self.started_wall: float | None = None

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not (self._closing or self._capped)

    def start(self, start_ns: int) -> None:
        """Open the file and write the header; every event offered follows."""
        self._file = open_for_writing(self.path)
        head = header(start_ns)
        self.started_wall = head["started_wall"]
        self._line(head)
        self._thread.start()

    def offer(self, event: Event) -> None:
        """Queue an event, or count it dropped: never waits (called under the store's lock)."""
        if self._closing or self._capped:
            return
        self.offered += 1
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def finish(self, t_ns: int) -> None:
        """Take no more events; the recording ends at `t_ns` (called under the store's lock, so
        the file holds exactly the events folded until then)."""
        if not self._closing:
            self._closing, self._end_ns = True, t_ns

    def stop(self, why: str = "stopped") -> None:
        """Write what is queued and the end line, then close the file; safe to call twice."""
        self._closing = True
        if self.stopped_why is None:
            self.stopped_why = why
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)
        elif self._file is not None:
            self._close()

    def status(self) -> dict:
        return {
            "recording": self.running,
            "file": self.path.name,
            "events": self.events,
            "bytes": self.bytes,
            "cap_bytes": self.cap_bytes,
            "dropped": self.dropped,
            "queued": self._queue.qsize(),
            "started_wall": self.started_wall,
            "stopped": self.stopped_why,
        }

    def _line(self, obj: dict) -> bool:
        """Write one line unless it would pass the cap; False (and the recording stops) if so."""
        data = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        if self.bytes + len(data) > self.cap_bytes:
            cap_mb = self.cap_bytes / (1 << 20)
            self._capped = True
            self.stopped_why = f"the size cap was reached ({cap_mb:g} MB; run.py --record-cap-mb sets it)"
            log.warning("recording %s: %s", self.path, self.stopped_why)
            return False
        self._file.write(data)
        self.bytes += len(data)
        return True

    def _write(self) -> None:
        try:
            while (event := self._queue.get()) is not None:
                if not self._capped and self._line(to_json(event)):
                    self.events += 1
            if self._end_ns is not None and not self._capped:
                self._line(to_json(Ended(self._end_ns)))
        except Exception:
            log.exception("recording %s failed", self.path)
            self.stopped_why = "writing failed; see the dashboard's log"
        finally:
            self._close()

    def _close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()
