"""Socket.IO viewers: a snapshot first, then frames that apply to it exactly, at most 20 a second."""

from __future__ import annotations

import json
import re
import time

import pytest

from dashboard.broadcaster import FRAME_BURST, FRAME_INTERVAL_S
from dashboard.model.history import SERIES_KEPT, SPAN_WINDOW_NS, Span, page_contract
from dashboard.model.tasks import task_key
from tests.support import ROOT, Viewer, managed, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def viewer(dashboard):
    v = Viewer(dashboard.url)
    yield v
    v.close()


def tasks_of(snapshot: dict) -> dict:
    return {task_key(p["pid"], t["id"]): t for p in snapshot["processes"] for t in p["tasks"]}


def test_a_newcomer_gets_the_full_state_first(viewer, dashboard):
    kind, _, snapshot = viewer.next()
    assert kind == "snapshot"
    assert (managed(snapshot)["status"], managed(snapshot)["capacity"]) == ("serving", 4)
    assert [p["slots"] for p in snapshot["processes"]] == [4]
    assert set(snapshot["counters"]) == {"queued", "in_service", "done", "failed"}


def test_frames_follow_the_snapshot_version_by_version_through_a_burst(viewer, dashboard):
    """Every frame applies to the version before it; at most 20 a second; and `/api/health` counts
    at least the frames this viewer got. The snapshot is asked for after the count is read: a
    frame sent between the newcomer's snapshot and that read was counted by neither (seen once)."""
    viewer.next()
    sent_before = dashboard.get("/api/health").json()["frames_sent"]
    snapshot = wait_for(viewer.resynced, 5, what="a snapshot taken after frames_sent was read")
    version, tasks = snapshot["version"], tasks_of(snapshot)
    run = dashboard.fire("io", 8, 300)
    peak_busy, times = 0, []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        kind, _, frame = viewer.next()
        if kind != "frame" or frame["version"] <= version:
            continue
        assert frame["base"] == version, "a frame was skipped"
        version = frame["version"]
        times.append(frame["now_ms"] / 1000)  # the dashboard's clock: arrival times bunch up
        for key, task in frame.get("tasks", {}).items():
            if task is None:
                tasks.pop(key, None)
            else:
                tasks[key] = task
        busy = sum(1 for t in tasks.values() if t["request"] is not None)
        peak_busy = max(peak_busy, busy)
        runs = frame.get("runs") or []
        if peak_busy and busy == 0 and any(r["id"] == run and r["state"] == "done" for r in runs):
            break
    else:
        pytest.fail(f"run {run} was never seen done with its pool idle again")
    assert peak_busy == 4
    assert {t["state"] for t in tasks.values()} == {"idle"}
    # The token bucket's law: over any span, at most FRAME_BURST frames more than 20 a second.
    assert len(times) <= FRAME_BURST + 1 + (times[-1] - times[0]) / FRAME_INTERVAL_S, "over 20 a second"
    assert dashboard.get("/api/health").json()["frames_sent"] - sent_before >= len(times)


def test_junk_from_a_viewer_changes_nothing_and_resync_answers_a_snapshot(viewer, dashboard):
    viewer.next()
    before = dashboard.get("/api/server").json()
    for event, payload in [("load", {"endpoint": "io"}), ("server", "x" * 10_000), ("frame", [])]:
        viewer.client.emit(event, payload)
    wait_for(lambda: viewer.resynced({"evil": 1}), 5, what="a snapshot for a resync with junk")
    assert managed(viewer.view)["status"] == "serving"
    assert dashboard.get("/api/server").json() == before
    assert dashboard.get("/api/health").json()["ok"] is True


def test_the_history_contract_is_documented_as_coded():
    """docs/live-frames.md names the span fields in Span's order, the window and the points."""
    doc = (ROOT / "docs" / "live-frames.md").read_text()
    assert f"`[{', '.join(Span._fields)}]`" in doc
    assert f"the last {SPAN_WINDOW_NS // 1_000_000_000} s" in doc
    assert f"the last {SERIES_KEPT} points" in doc


def test_spans_read_by_the_bootstraps_field_names_are_the_requests_served(dashboard):
    """The page reads each span by the field names its bootstrap gives, not by position; read
    that way, the spans of a burst are its requests, each queued before it was served."""
    page = dashboard.get("/").text
    bootstrap = json.loads(
        re.search(r'<script id="bootstrap" type="application/json">(.*?)</script>', page)[1]
    )
    assert bootstrap["history"] == page_contract()
    dashboard.wait_run(dashboard.fire("io", 3, 50))
    names = bootstrap["history"]["span_fields"]
    spans = [dict(zip(names, raw, strict=True)) for raw in dashboard.get("/api/history").json()["spans"]]
    served = [s for s in spans if s["path"] == "/io"][-3:]
    assert len(served) == 3
    for span in served:
        assert span["sent_ms"] <= span["start_ms"] < span["end_ms"]
        pid, _, task_id = span["task"].partition(bootstrap["task_key_separator"])
        assert span["status"] == "200" and span["task"] == task_key(int(pid), int(task_id))
