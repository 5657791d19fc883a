"""A viewer-only process's copy of the primary's view, kept from the frames it relays, so that a
newcomer here gets a snapshot the next frames apply to, as it would from the primary itself.

The frames come through the message queue; the view they start from comes once from the primary
(GET /api/mirror), and again whenever the chain breaks (a frame lost, the primary restarted, a
replay's seek). Between frames the requests' ages run on from the last frame's clock.

The frames go on to this process's viewers at this room's pace, as the primary paces its own:
in a room too large for every frame, the frames that came meanwhile go out merged into one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable

from dashboard.broadcaster import Emit, ViewerBook, apply_frame, merge_frames, snapshot_of
from dashboard.model.history import SERIES_KEPT
from dashboard.model.views import SPANS_IN_SNAPSHOT

log = logging.getLogger(__name__)

SEED_PATH = "/api/mirror"
SEED_TIMEOUT_S = 5.0
RETRY_S = 1.0
# Frames kept while the view is fetched; at 20 a second this covers a slow primary's answer.
PENDING_FRAMES = 400


class NotSeeded(RuntimeError):
    """The mirror holds no view yet: the primary has not answered GET /api/mirror."""


def fetch_base(primary: str) -> dict:
    """The primary's view as parts with its version (Broadcaster.base), over HTTP."""
    with urllib.request.urlopen(primary.rstrip("/") + SEED_PATH, timeout=SEED_TIMEOUT_S) as reply:
        return json.load(reply)


class Mirror(ViewerBook):
    """The primary's view as of the last frame received; `relayed` is the message queue's hook,
    and `emit(event, data, skip_viewer)` sends to this process's viewers.

    Frames and seeds may come from different threads (the queue's, the fetch's, the relay's):
    one lock keeps the view, its version and the frame still to send together.
    """

    def __init__(
        self,
        primary: str,
        emit: Emit,
        fetch: Callable[[str], dict] = fetch_base,
    ) -> None:
        super().__init__()
        self.primary = primary
        self.emit = emit
        self._fetch = fetch
        self._outgoing: dict | None = None  # the frames received and not yet sent, merged
        self._due = threading.Event()
        self._lock = threading.Lock()
        self._version: int | None = None  # None: no view yet (or the chain broke): seeding
        self._parts: dict = {}
        self._spans: deque = deque(maxlen=SPANS_IN_SNAPSHOT)
        self._series: deque = deque(maxlen=SERIES_KEPT)
        self._now_ms = 0.0  # the primary's clock at the last frame, and ours then (monotonic)
        self._at = time.monotonic()
        self._pending: deque[dict] = deque(maxlen=PENDING_FRAMES)
        self._seeding = False
        self._stop = threading.Event()
        self.seeds = 0  # views fetched from the primary: one, unless the chain broke

    def start(self) -> None:
        with self._lock:
            self._seed_later()
        threading.Thread(target=self._relay, name="threadpulse-mirror-relay", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._due.set()

    def relayed(self, event: str, data: object) -> bool:
        """A broadcast from the primary: True when the mirror sends it on itself (a frame, at
        this room's pace), False when the queue should deliver it as it came."""
        if not isinstance(data, dict):
            return False
        with self._lock:
            if event == "snapshot":  # a replay's seek: every view starts again
                self._seed_later()
                return False
            if event != "frame":
                return False
            if self._version is None:
                self._pending.append(data)
            elif not self._follow(data):
                self._pending.append(data)
                self._seed_later()
            self._queue(data)
        self._due.set()
        return True

    def _queue(self, frame: dict) -> None:
        """Merge `frame` into the one still to send (a gap: it replaces it; viewers resync)."""
        outgoing = self._outgoing
        follows = outgoing is not None and frame.get("base") == outgoing.get("version")
        self._outgoing = merge_frames(outgoing, frame) if follows else frame

    def _relay(self) -> None:
        """Send what came, merged, whenever the room's credit allows (Broadcaster._run's pace)."""
        while not self._stop.is_set():
            self._due.wait(self.interval)
            if self._stop.wait(self._credit_wait_s()):
                return
            self._due.clear()
            with self._lock:
                frame, self._outgoing = self._outgoing, None
            if frame is not None and self.viewers:
                try:
                    self.emit("frame", frame, None)
                except Exception:  # a bad frame must not end the relay
                    log.exception("mirror: relaying a frame failed")
                self._spend()

    def snapshot(self, newcomers: list[str] | None = None) -> dict:
        """The view as of now in the shape of `GET /api/state`; NotSeeded before the first seed.
        (`newcomers` for the broadcaster's signature: a mirror cuts no frame of its own.)"""
        with self._lock:
            if self._version is None:
                raise NotSeeded(f"no view from the primary {self.primary} yet")
            now_ns = int((self._now_ms + (time.monotonic() - self._at) * 1000) * 1e6)
            return snapshot_of(self._parts, self._version, now_ns, list(self._spans), list(self._series))

    def _follow(self, frame: dict) -> bool:
        """Apply `frame` if it follows the view (True also for a stale one); False on a gap."""
        version, base = frame.get("version"), frame.get("base")
        if not isinstance(version, int) or not isinstance(base, int):
            return True  # not a frame of ours: ignored
        if version <= self._version:
            return True
        if base != self._version:
            self._version = None
            return False
        self._parts = apply_frame(self._parts, frame)
        self._spans.extend(frame.get("spans", ()))
        self._series.extend(frame.get("series", ()))
        self._version = version
        self._now_ms, self._at = frame.get("now_ms", self._now_ms), time.monotonic()
        return True

    def _seed_later(self) -> None:
        """Fetch the view on a thread of its own (under the lock); one fetch at a time."""
        self._version = None
        if self._seeding or self._stop.is_set():
            return
        self._seeding = True
        threading.Thread(target=self._seed, name="threadpulse-mirror-seed", daemon=True).start()

    def _seed(self) -> None:
        while not self._stop.is_set():
            try:
                base = self._fetch(self.primary)
            except (OSError, ValueError) as exc:
                log.warning("mirror: %s did not answer %s (%s); retrying", self.primary, SEED_PATH, exc)
                self._stop.wait(RETRY_S)
                continue
            with self._lock:
                self.seeds += 1
                self._install(base)
                pending, self._pending = list(self._pending), deque(maxlen=PENDING_FRAMES)
                if all(self._follow(frame) for frame in pending):
                    self._seeding = False
                    return
            log.info("mirror: frames missed while seeding; fetching the view again")

    def _install(self, base: dict) -> None:
        self._parts = base["parts"]
        self._spans = deque(base["spans"], maxlen=SPANS_IN_SNAPSHOT)
        self._series = deque(base["series"], maxlen=SERIES_KEPT)
        self._now_ms, self._at = base["now_ms"], time.monotonic()
        self._version = base["version"]
