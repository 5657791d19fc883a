"""A replay's memory is bounded by a cap on events as well as on bytes, the file is never held whole
beside its events, and a control does not wait for the replay to fold a backlog. Guards issue 17,
fault 6 (a 90 MB recording of 3,000,000 events: 692 MB at the peak, the first speed change 7.9 s)."""

from __future__ import annotations

import json
import threading
import tracemalloc
from pathlib import Path

from dashboard.model.store import Store
from dashboard.recording.fileformat import header
from dashboard.recording.reader import read_recording
from dashboard.recording.replay import SLICE, ReplayClock, Replayer
from tests.test_replay_refusals import refused


def tiny(path: Path, count: int) -> Path:
    """`count` events of the smallest kind (an `end` line, ~28 bytes), 1 µs apart."""
    lines = [json.dumps(header(0)), *(f'{{"k":"end","t":{(i + 1) * 1000}}}' for i in range(count))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_run_py_refuses_more_events_than_its_cap_saying_which_flag_raises_it(tmp_path):
    path = tiny(tmp_path / "r.jsonl", 1_001)
    message = refused(path, "--replay-max-events", "1000")
    assert (
        f"--replay: {path}: line 1002: more than 1,000 events, the cap (run.py --replay-max-events" in message
    )


def test_a_recording_is_read_without_holding_its_bytes_beside_its_events(tmp_path):
    """The reader held the whole file, then its lines, beside the events it made of them: the
    peak was the events plus twice the file and more. Read line by line, the peak is the events
    held plus a chunk and the list they are gathered in (8 bytes an event)."""
    path = tiny(tmp_path / "r.jsonl", 200_000)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        recording = read_recording(path)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(recording.events) == 200_000
    assert peak - held < size / 2, (peak, held, size)


class CountingLock:
    """A replayer's lock that counts the events folded in each hold of it (through a store tap)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.folded = self.most = 0

    def tap(self, event: object) -> None:
        self.folded += 1

    def __enter__(self) -> None:
        self.lock.acquire()
        self.folded = 0

    def __exit__(self, *exc: object) -> None:
        self.most = max(self.most, self.folded)
        self.lock.release()


def test_a_backlog_is_folded_a_slice_per_hold_and_a_speed_change_folds_nothing(tmp_path):
    """The replay thread folded the events due in one hold of its lock (all 3,000,000 at once,
    in the probe) and the speed change waited for it: now a speed change only sets the clock, and
    a backlog is folded SLICE events at a time, letting a control or a view in between."""
    recording = read_recording(tiny(tmp_path / "r.jsonl", 3 * SLICE + 7))
    clock = ReplayClock(recording.start_ns, recording.end_ns)
    replayer: Replayer | None = None
    store = Store(clock=lambda: replayer.position_ns)
    replayer = Replayer(recording, store, clock)
    replayer._lock = lock = CountingLock()
    store.taps.append(lock.tap)
    replayer.clock.set(at_ns=recording.end_ns)  # the whole recording is due: a backlog
    assert replayer.control({"speed": 2})["speed"] == 2.0
    assert (lock.most, replayer.status()["at_s"]) == (0, 0.0)  # answered, nothing folded
    replayer.advance_to(replayer.clock.now_ns())
    assert lock.most == SLICE
    assert replayer.status()["at_s"] == round((recording.end_ns - recording.start_ns) / 1e9, 3)
