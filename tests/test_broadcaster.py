"""Frames are exact differences: applied to the view they were cut from, they give the next; and
they go out on the leading edge, at most one an interval."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dashboard.broadcaster import (
    EVERY_FRAME,
    FRAME_BURST,
    SENDS_PER_S,
    WHOLE_PARTS,
    Broadcaster,
    diff,
    snapshot_of,
)
from dashboard.model.events import Datagrams
from dashboard.model.store import Store
from tests.support import wait_for


def view(tasks: dict, done: int = 0) -> dict:
    parts = {part: {} for part in WHOLE_PARTS + EVERY_FRAME}
    parts.update(
        processes=[{"pid": 1, "key": "1", "slots": 2, "status": "alive"}], counters={"done": done}, runs=[]
    )
    return {**parts, "tasks": tasks}


def apply(old: dict, frame: dict) -> dict:
    new = {**old, **{part: frame[part] for part in WHOLE_PARTS if part in frame}}
    tasks = dict(old["tasks"])
    for key, task in frame.get("tasks", {}).items():
        if task is None:
            tasks.pop(key)
        else:
            tasks[key] = task
    return {**new, "tasks": tasks}


def test_a_frame_holds_only_what_changed_and_rebuilds_the_new_view():
    idle = {"id": 5, "state": "idle", "request": None}
    busy = {"id": 5, "state": "running", "request": {"id": "1-0", "path": "/io", "started_ms": 1.0}}
    old = view({"1:5": idle, "1:6": idle})
    new = view({"1:5": busy, "1:7": idle}, done=1)
    frame = diff(old, new)
    assert frame == {"counters": {"done": 1}, "tasks": {"1:5": busy, "1:7": idle, "1:6": None}}
    assert apply(old, frame) == new
    assert diff(new, new) == {}


def test_a_snapshot_nests_tasks_in_their_process_and_ages_requests():
    busy = {"id": 5, "state": "running", "request": {"id": "1-0", "path": "/io", "started_ms": 1.0}}
    snapshot = snapshot_of(view({"1:5": busy}), version=7, now_ns=11_000_000, spans=[], series=[])
    assert snapshot["version"] == 7 and "tasks" not in snapshot
    assert snapshot["processes"][0]["tasks"][0]["request"]["age_ms"] == 10.0


@pytest.fixture
def broadcasting() -> Iterator[tuple[Store, Broadcaster, list]]:
    store = Store()
    frames: list = []
    broadcaster = Broadcaster(store, lambda event, frame, skip: frames.append(frame))
    try:
        yield store, broadcaster, frames
    finally:
        broadcaster.stop()


def test_a_look_that_found_nothing_to_send_does_not_hold_back_the_next_change(broadcasting):
    """Leading edge (issue 9, part 4): only frames sent use up the rate. The broadcaster used to
    count its interval from its last look at the model, so a change just after a look that sent
    nothing (no viewer yet, or a /proc sample that changed no number) waited a whole interval.
    With a 60 s interval, the frame can only come this soon on the leading edge."""
    store, broadcaster, frames = broadcasting
    broadcaster.interval = 60.0
    broadcaster.start()
    store.apply(Datagrams(0, (), (), ("empty",)))
    wait_for(lambda: not store.changed.is_set(), what="the broadcaster's look at the model")
    assert frames == []  # no viewer, nothing sent
    broadcaster.viewers.add("v1")
    store.apply(Datagrams(0, (), (), ("empty",)))
    wait_for(lambda: frames, what="the first frame")
    assert frames[0]["collector"]["rejected"] == {"empty": 2}


def test_a_flood_of_changes_makes_at_most_one_frame_an_interval(broadcasting):
    """What a browser costs does not grow with the request rate: 20 frames a second at most, on
    top of the FRAME_BURST a quiet spell allows."""
    store, broadcaster, frames = broadcasting
    broadcaster.viewers.add("v1")
    started = time.monotonic()
    broadcaster.start()
    while time.monotonic() - started < 1.0:
        store.apply(Datagrams(0, (), (), ("empty",)))
        time.sleep(0.001)  # a change a millisecond, each of which alters the view
    broadcaster.stop()
    assert 1 <= len(frames) <= (time.monotonic() - started) / broadcaster.interval + FRAME_BURST


def test_every_frame_and_the_snapshot_carry_captions_and_the_scene(broadcasting):
    """Contract with the stage pages: `captions` and `scene` are in the snapshot and in every frame,
    also in a frame cut for another change (the page keeps no bookkeeping for them)."""
    store, broadcaster, frames = broadcasting
    broadcaster.viewers.add("v1")
    broadcaster.start()
    store.apply(Datagrams(0, (), (), ("empty",)))
    wait_for(lambda: frames, what="the first frame")
    store.apply(Datagrams(0, (), (), ("empty",)))
    wait_for(lambda: len(frames) >= 2, what="a second frame")
    assert all(frame["captions"] == [] and frame["scene"] is None for frame in frames)
    snapshot = broadcaster.snapshot()
    assert (snapshot["captions"], snapshot["scene"]) == ([], None)


def test_a_large_room_stretches_the_interval_so_sends_stay_within_the_budget():
    """Issue 10, fault 7: at 1,000 viewers × 20 frames/s the broadcast's writes took most of a
    core and the API waited behind them; viewers × frames/s stays within SENDS_PER_S."""
    broadcaster = Broadcaster(Store(), lambda *_: None)
    for count in (1, SENDS_PER_S // 20, 1_000, 5_000):
        broadcaster.viewers = {f"v{i}" for i in range(count)}
        assert broadcaster.frame_interval() >= broadcaster.interval
        assert count / broadcaster.frame_interval() <= SENDS_PER_S
    broadcaster.viewers = {"v"}
    assert broadcaster.frame_interval() == broadcaster.interval  # a small room gets every frame
