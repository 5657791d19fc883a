"""Frames are exact differences: applied to the view they were cut from, they give the next."""

from __future__ import annotations

from dashboard.broadcaster import WHOLE_PARTS, diff, snapshot_of


def view(tasks: dict, done: int = 0) -> dict:
    parts = {part: {} for part in WHOLE_PARTS}
    parts.update(processes=[{"pid": 1, "slots": 2, "status": "alive"}], counters={"done": done}, runs=[])
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
