"""Sends viewers what changed as soon as it changes, at most 20 times a second, whatever the
request rate, and fewer in a room so large that 20 would cost more than SENDS_PER_S.

Each frame is the difference between two views of the model (tasks, processes, counters,
runs), so its size depends on how many tasks changed, not on how many requests ran. A newcomer
gets the view the last frame was cut from, so that frame's successors apply to it exactly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from dashboard.model.live import Model
from dashboard.model.store import Store
from dashboard.model.views import SPANS_PER_FRAME, frame_parts, spans_view

Emit = Callable[[str, dict, "list[str] | None"], None]
"""How frames and snapshots leave: `emit(event, data, skip)`, to every viewer but those in `skip`."""

log = logging.getLogger(__name__)

FRAME_INTERVAL_S = 0.05
# Frames that may go out back to back after a quiet spell. A click changes the model three times
# in a few ms (its run, its requests sent and queued, then the first tile it lights), and a /proc
# sample or a roster may have cut a frame just before it: with 2, the lit tile waited out most of
# an interval behind the queued count (13 ms median, 30-45 ms p95 of the click's time, measured by
# bench.tile_latency; docs/live-frames.md). On average frames still come at most one an interval.
FRAME_BURST = 4
# Frames × viewers a second the broadcaster may cost, whatever the room. Each frame is encoded
# once, but written to each viewer's socket on its own; at 1,000 viewers and 20 frames a second
# that took 72% of a core of the dashboard's worker on its own (bench.viewers), and the API
# waited behind it. Past SENDS_PER_S / 20 viewers the frame rate drops, so a room costs a bound:
# at 5,000 (5 frames a second to 1,000 viewers) /api/health's p99 was 75-96 ms, at 10,000 it was
# 164-251 ms (docs/benchmarks.md).
SENDS_PER_S = 5_000
WHOLE_PARTS = ("servers", "processes", "counters", "runs", "collector")
# Sent in every frame, changed or not (the page's caption and scene need no bookkeeping); cut
# once per frame, for all viewers.
EVERY_FRAME = ("captions", "scene")


def diff(old: dict, new: dict) -> dict:
    """The frame turning view `old` into view `new`: changed whole parts and changed tasks."""
    frame = {part: new[part] for part in WHOLE_PARTS if old.get(part) != new[part]}
    if any(old.get(part) != new[part] for part in EVERY_FRAME):
        frame.update({part: new[part] for part in EVERY_FRAME})
    old_tasks, new_tasks = old.get("tasks", {}), new["tasks"]
    tasks = {key: task for key, task in new_tasks.items() if old_tasks.get(key) != task}
    tasks.update({key: None for key in old_tasks if key not in new_tasks})
    if tasks:
        frame["tasks"] = tasks
    return frame


def apply_frame(parts: dict, frame: dict) -> dict:
    """View `parts` turned by `frame` into the view it was cut from (diff's inverse): what a
    viewer-only process's mirror does with each frame it relays (dashboard/mirror.py)."""
    new = {**parts, **{part: frame[part] for part in WHOLE_PARTS + EVERY_FRAME if part in frame}}
    tasks = dict(parts.get("tasks", {}))
    for key, task in frame.get("tasks", {}).items():
        if task is None:
            tasks.pop(key, None)
        else:
            tasks[key] = task
    new["tasks"] = tasks
    return new


def snapshot_of(parts: dict, version: int, now_ns: int, spans: list, series: list) -> dict:
    """A full view in the shape of `GET /api/state`, from a frame's parts and the history."""
    by_process: dict[str, list] = {}  # a task key is PROCESS:TASK, the process named by its "key"
    for key, task in parts["tasks"].items():
        by_process.setdefault(key.rpartition(":")[0], []).append(_aged(task, now_ns))
    processes = [{**p, "tasks": by_process.get(p["key"], [])} for p in parts["processes"]]
    whole = {part: parts[part] for part in WHOLE_PARTS + EVERY_FRAME}
    return {
        **whole,
        "processes": processes,
        "spans": spans,
        "series": series,
        "version": version,
        "now_ms": round(now_ns / 1e6, 1),
    }


def _aged(task: dict, now_ns: int) -> dict:
    request = task["request"]
    if request is None:
        return task
    return {**task, "request": {**request, "age_ms": round(now_ns / 1e6 - request["started_ms"], 1)}}


def merge_frames(first: dict, then: dict) -> dict:
    """One frame doing what `first` then `then` do (`then` cut right after `first`): what a
    viewer-only process sends when its room is too large for every frame (dashboard/mirror.py)."""
    tasks = {**first.get("tasks", {}), **then.get("tasks", {})}
    merged = {**first, **then, "base": first["base"]}
    for part in ("spans", "series"):
        if part in first or part in then:
            merged[part] = [*first.get(part, ()), *then.get(part, ())]
    if tasks:
        merged["tasks"] = tasks
    return merged


class ViewerBook:
    """This process's viewers (Socket.IO ids), the frames they got, and those dropped, by reason;
    and the pace of the frames: at most one an interval, stretched in a large room."""

    def __init__(self) -> None:
        self.viewers: set[str] = set()
        self.frames_sent = 0
        self._dropped: dict[str, int] = {}  # viewers the dashboard dropped, by reason
        self._dropped_lock = threading.Lock()
        self.interval = FRAME_INTERVAL_S
        self._credit, self._credit_at = float(FRAME_BURST), time.monotonic()  # frames allowed now

    def _spend(self) -> None:
        """A frame went out: one credit less."""
        self.frames_sent += 1
        now = time.monotonic()
        self._credit = self._credit_now(now) - 1
        self._credit_at = now

    def _credit_now(self, now: float) -> float:
        """Frames that may go now: one more every interval, FRAME_BURST at most (a token bucket)."""
        return min(float(FRAME_BURST), self._credit + (now - self._credit_at) / self.frame_interval())

    def _credit_wait_s(self) -> float:
        """How long until a frame may go."""
        return max(0.0, (1 - self._credit_now(time.monotonic())) * self.frame_interval())

    def frame_interval(self) -> float:
        """The interval, stretched so that viewers × frames a second stays within SENDS_PER_S."""
        return max(self.interval, len(self.viewers) / SENDS_PER_S)

    def viewer_dropped(self, reason: str) -> None:
        """Count a viewer the dashboard dropped (dashboard/web/viewer_sockets.py says why)."""
        with self._dropped_lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + 1

    def viewers_dropped(self) -> dict[str, int]:
        with self._dropped_lock:
            return dict(self._dropped)


class Broadcaster(ViewerBook):
    """Cuts frames from the model and hands them to `emit(event, data, skip_viewer)`.

    With `remote_viewers` (a message queue: viewer-only processes relay the frames) frames are cut
    even while no viewer watches this process.
    """

    def __init__(self, store: Store, emit: Emit, remote_viewers: bool = False) -> None:
        super().__init__()
        self.store = store
        self.emit = emit
        self.remote_viewers = remote_viewers
        self._lock = threading.Lock()
        self._version = 0
        self._parts: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="threadpulse-broadcaster", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def snapshot(self, newcomers: list[str] | None = None) -> dict:
        """What `newcomers` (viewers that joined, or lost track) start from: the view as of now.

        Bringing the view up to date cuts a frame, which the other viewers get as usual.
        """
        with self._lock:
            frame = self._advance()
            if frame is not None:
                self._send(frame, skip=newcomers)
            now = self.store.now_ns()
            spans, series = self.store.use(lambda model: self._history_so_far(model, now))
            return snapshot_of(self._parts, self._version, now, spans, series)

    def base(self) -> dict:
        """The view the frames apply to, as parts, with its version and history: what a
        viewer-only process seeds its mirror from (GET /api/mirror). Brought up to date as
        `snapshot` is, so the next frame follows it."""
        with self._lock:
            frame = self._advance()
            if frame is not None:
                self._send(frame)
            now = self.store.now_ns()
            spans, series = self.store.use(lambda model: self._history_so_far(model, now))
            return {
                "version": self._version,
                "now_ms": round(now / 1e6, 1),
                "parts": self._parts,
                "spans": spans,
                "series": series,
            }

    def restart(self) -> None:
        """The model was replaced (a replay's seek): every viewer starts again from a snapshot."""
        with self._lock:
            self._parts = {}
            self._advance()
            now = self.store.now_ns()
            spans, series = self.store.use(lambda model: self._history_so_far(model, now))
            snapshot = snapshot_of(self._parts, self._version, now, spans, series)
        self.emit("snapshot", snapshot, None)

    def _history_so_far(self, model: Model, now_ns: int) -> tuple[list, list]:
        """Spans and series points up to what the last frame carried, no further."""
        spans = [s for s in spans_view(model, now_ns) if s.seq <= self._parts["span_seq"]]
        series = [p for p in model.series.since(0) if p["seq"] <= self._parts["series_seq"]]
        return spans, series

    def _send(self, frame: dict, skip: list[str] | None = None) -> None:
        self.emit("frame", frame, skip)
        self._spend()

    def _advance(self) -> dict | None:
        """Cut the next frame (under the lock); None when nothing changed."""
        now = self.store.now_ns()
        old = self._parts

        def cut(model: Model) -> tuple[dict, list, list]:
            spans = spans_view(model, now, old.get("span_seq", 0), SPANS_PER_FRAME)
            return frame_parts(model, now), spans, model.series.since(old.get("series_seq", 0))

        parts, spans, series = self.store.use(cut)
        frame = diff(old, parts)
        if spans:
            frame["spans"] = spans
        if series:
            frame["series"] = series
        if not frame and old:
            return None
        self._parts = parts
        self._version += 1
        frame.update({part: parts[part] for part in EVERY_FRAME})
        return {"version": self._version, "base": self._version - 1, "now_ms": round(now / 1e6, 1), **frame}

    def _run(self) -> None:
        """A frame as soon as the model changes (or every interval, for ages and expiry), as long
        as the frames sent leave credit for one: a change that comes after a quiet spell reaches
        viewers at once, and a flood of changes makes 20 frames a second.

        The credit counts frames sent, not looks at the model: a look that found nothing new
        must not hold back the change that comes next.
        """
        while not self._stop.is_set():
            self.store.changed.wait(self.interval)
            if self._stop.wait(self._credit_wait_s()):
                return
            self.store.changed.clear()
            try:
                if not self.viewers and not self.remote_viewers:
                    continue
                with self._lock:
                    frame = self._advance()
                    if frame is not None:
                        self._send(frame)
            except Exception:  # a bad frame must not end the broadcasts
                log.exception("broadcaster: frame failed")
