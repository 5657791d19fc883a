"""Replay: folds a recording into the store at a chosen speed, with pause, play and seek.

The store's clock in a replay is `position_ns`, the recording time up to which events have been
folded, so every view (state, history, frames) is a function of the file and that position alone.
A seek folds a fresh model from the start (a 5-minute busy recording: see docs/recording.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from dashboard.config import SPEEDS
from dashboard.model.events import ScenePlayed, fold
from dashboard.model.live import Model
from dashboard.model.store import Store
from dashboard.recording.reader import Recording

STEP_S = 0.02  # the replay thread's longest sleep: ages and frames move at least this often
SLICE = 5_000  # events folded per hold of the lock (~10-50 ms here)


class ReplayClock:
    """Recording time from the host's clock: a position, the host time it was set at, a speed."""

    def __init__(
        self, start_ns: int, end_ns: int, speed: float = 1.0, host: Callable[[], int] = time.monotonic_ns
    ):
        self.start_ns, self.end_ns, self._host = start_ns, end_ns, host
        self.speed = check_speed(speed)
        self.paused = False
        self._at, self._set = start_ns, host()

    def now_ns(self) -> int:
        if self.paused:
            return self._at
        return min(self.end_ns, self._at + int((self._host() - self._set) * self.speed))

    def set(self, at_ns: int | None = None, speed: float | None = None, paused: bool | None = None) -> None:
        """Move to `at_ns`, or change speed or pause, from the current position on."""
        at = self.now_ns() if at_ns is None else max(self.start_ns, min(self.end_ns, at_ns))
        self._at, self._set = at, self._host()
        if speed is not None:
            self.speed = check_speed(speed)
        if paused is not None:
            self.paused = paused


def check_speed(speed: object) -> float:
    if not isinstance(speed, (int, float)) or isinstance(speed, bool) or not SPEEDS[0] <= speed <= SPEEDS[1]:
        raise ValueError(f"speed must be a number from {SPEEDS[0]} to {SPEEDS[1]}")
    return float(speed)


class Replayer:
    """Drives the store from a recording: the dashboard's one writer in a replay."""

    def __init__(
        self,
        recording: Recording,
        store: Store,
        clock: ReplayClock,
        on_replace: Callable[[], None] = lambda: None,
    ) -> None:
        self.recording = recording
        self.on_replace = on_replace  # the broadcaster's restart: viewers start again after a seek
        self.store = store
        store.replace(Model(recording.host))  # whose own host it was: the pids it names without one
        self.clock = clock
        self.position_ns = recording.start_ns
        # The scenes the recording holds, in the order they were played, each with the time it
        # was fired (seconds from the start): the stage's clicker steps through them.
        self.scenes = [
            {"id": e.scene.get("id"), "title": e.scene.get("title"), "at_s": self._seconds(e.t_ns)}
            for e in recording.events
            if isinstance(e, ScenePlayed)
        ]
        self._next = 0  # the first event not yet folded
        self._seeks = 0  # seeks so far: a fold forward that a seek overtook stops
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="threadpulse-replay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def advance_to(self, t_ns: int) -> None:
        """Fold every event up to `t_ns`, SLICE events per hold of the lock, so that a control or
        a view waits for one slice and not a whole backlog (3,000,000 events 1 µs apart, folded in
        one hold, kept the first speed change waiting 7.9 s: issue 17, fault 6). A time before the
        position seeks: folds a fresh model from the start."""
        with self._lock:
            if t_ns < self.position_ns:
                self._seek(t_ns)
                return
            seeks = self._seeks
        events, finished = self.recording.events, False
        while not finished:
            with self._lock:
                if self._seeks != seeks:  # a seek moved the position meanwhile: it stands
                    return
                stop = min(len(events), self._next + SLICE)
                while self._next < stop and events[self._next].t_ns <= t_ns:
                    self.store.apply(events[self._next])
                    self._next += 1
                finished = self._next == len(events) or events[self._next].t_ns > t_ns
                at = t_ns if finished else events[self._next - 1].t_ns
                self.position_ns = max(self.position_ns, at)
                self.store.changed.set()

    def _seek(self, t_ns: int) -> None:
        """Fold a fresh model up to `t_ns` and hand it to the store and the viewers (under the lock)."""
        events = self.recording.events
        model, self._next = Model(self.recording.host), 0
        while self._next < len(events) and events[self._next].t_ns <= t_ns:
            fold(model, events[self._next])
            self._next += 1
        self.position_ns = t_ns
        self._seeks += 1
        self.store.replace(model)
        self.on_replace()

    def control(self, body: object) -> dict:
        """Pause, play, speed and seek from the page: {"paused": bool, "speed": x, "at_s": s}."""
        if not isinstance(body, dict) or not set(body) <= {"paused", "speed", "at_s"}:
            raise ValueError('body must be a JSON object with "paused", "speed" and/or "at_s"')
        paused, speed, at_s = body.get("paused"), body.get("speed"), body.get("at_s")
        if paused is not None and not isinstance(paused, bool):
            raise ValueError('"paused" must be true or false')
        if speed is not None:
            check_speed(speed)
        at_ns = None
        if at_s is not None:
            if not isinstance(at_s, (int, float)) or isinstance(at_s, bool) or at_s != at_s:
                raise ValueError('"at_s" must be seconds from the recording\'s start')
            at_ns = self.recording.start_ns + int(max(0.0, min(at_s, 1e7)) * 1e9)
        with self._lock:  # the replay thread reads the clock between its slices
            self.clock.set(at_ns, speed, paused)
        if at_ns is not None:  # a seek answers once it is folded; speed and pause at once
            self.advance_to(self.clock.now_ns())
        return self.status()

    def status(self) -> dict:
        head = self.recording.header
        return {
            "host": head["host"],
            "started_wall": head["started_wall"],
            "version": head.get("version"),
            "cores": head.get("cores"),
            "at_s": self._seconds(self.position_ns),
            "length_s": round((self.recording.end_ns - self.recording.start_ns) / 1e9, 3),
            "speed": self.clock.speed,
            "paused": self.clock.paused,
            "events": len(self.recording.events),
            "warning": self.recording.warning,
            "scenes": self.scenes,
        }

    def _seconds(self, t_ns: int) -> float:
        return round((t_ns - self.recording.start_ns) / 1e9, 3)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:  # not while a control sets the clock
                now = self.clock.now_ns()
            self.advance_to(now)
            events = self.recording.events
            wait = STEP_S
            if self._next < len(events) and not self.clock.paused:
                wait = min(
                    wait, max(0.0, (events[self._next].t_ns - self.position_ns) / 1e9 / self.clock.speed)
                )
            self._stop.wait(wait)
