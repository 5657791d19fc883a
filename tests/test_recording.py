"""The recording: its writer (bounded, never blocking the collector, capped), its reader (a file it
cannot replay is refused naming the line; one cut off mid-line replays up to its last whole
line) and the presenter's recording API. Guards issue 12 items 2 and 3."""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path

import pytest

from dashboard.app import create_app
from dashboard.cli.run import parse_args
from dashboard.config import Config
from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from dashboard.model.events import (
    Datagrams,
    Ended,
    Launched,
    RunAdded,
    RunEnded,
    Sample,
    ScenePlayed,
    ServerChanged,
    SustainAdded,
    TargetDied,
)
from dashboard.model.verdict import Prediction
from dashboard.recording.codec import from_json, to_json
from dashboard.recording.fileformat import SCHEMA, header
from dashboard.recording.reader import RecordingError, read_recording
from dashboard.recording.writer import Recorder
from threadpulse_agent.protocol import Source, Task, begin_event, decode, encode

RAW = encode(
    Source("h", 7, "m", "worker"),
    0,
    0,
    5,
    [begin_event(1, 0, 5, "GET", "/io", "")],
    [Task(1, "T", "thread", 9)],
)
EVENTS = [
    ServerChanged(10, {"mode": "gunicorn-sync", "status": "serving", "capacity": 2}, 1, (3, 4)),
    Launched(11, "launched", (70, 71), "http://127.0.0.1:8000"),
    RunAdded(11, "r1", "io", 4, 500, "managed"),
    ScenePlayed(12, {"id": "one", "title": "A"}, "r1", Prediction(1000, 2), 2),
    Datagrams(13, (decode(RAW),), (RAW.decode(),), ("not_json",)),
    Sample(14, {7: None}, 3, 0),
    SustainAdded(
        15,
        "r2",
        Plan(HttpRequest("POST", "/post/1?x=1", '{"a": 1}'), 8, 30, "rate", 50, 5),
        20,
        "managed",
        True,
    ),
    RunEnded(16, "r1", "stopped"),
    TargetDied(17, "managed", 9, "the server exited"),
    Ended(18),
]


def test_every_event_survives_its_line():
    """What the writer writes, the reader reads back as the same event."""
    for event in EVENTS:
        assert from_json(json.loads(json.dumps(to_json(event)))) == event


def write(path: Path, lines: list[object], tail: bytes = b"") -> Path:
    text = b"".join(json.dumps(line).encode() + b"\n" for line in lines) + tail
    path.write_bytes(gzip.compress(text) if path.name.endswith(".gz") else text)
    return path


def good_lines() -> list[object]:
    return [header(0), *(to_json(event) for event in EVENTS)]


@pytest.mark.parametrize("name", ["r.jsonl", "r.jsonl.gz"])
def test_a_whole_file_reads_back_with_its_header_and_end(tmp_path, name):
    recording = read_recording(write(tmp_path / name, good_lines()))
    replayed = tuple(e._replace(raw=()) if isinstance(e, Datagrams) else e for e in EVENTS)  # not kept
    assert recording.events == replayed and recording.warning is None
    assert recording.header["schema"] == SCHEMA and recording.end_ns == EVENTS[-1].t_ns


@pytest.mark.parametrize("name", ["r.jsonl", "r.jsonl.gz"])
def test_a_file_cut_off_mid_line_replays_up_to_its_last_whole_line_with_a_warning(tmp_path, name):
    """A crash while recording leaves half a line (and, gzipped, half a stream)."""
    path = write(tmp_path / name, good_lines()[:4], b'{"k":"sample","t":14,"sam')
    if name.endswith(".gz"):
        path.write_bytes(path.read_bytes()[:-12])  # the gzip trailer and some of the stream gone
    recording = read_recording(path)
    assert len(recording.events) in (2, 3)
    assert "cut off" in recording.warning and "replaying up to line" in recording.warning


@pytest.mark.parametrize(
    ("lines", "tail", "message"),
    [
        ([], b"", "line 1: empty file"),
        ([{"format": "other"}], b"", "line 1: not a Threadpulse recording"),
        ([{**header(0), "schema": SCHEMA + 1}], b"", "line 1: recording schema 2 is newer"),
        (
            [header(0), to_json(EVENTS[0])],
            b"{oops\n" + json.dumps(to_json(Ended(20))).encode() + b"\n",
            "line 3: not JSON",
        ),
        ([header(0), {"k": "sample", "t": 5}], b"", "line 2: a 'sample' event has no 'samples' field"),
        ([header(0), {"k": "warp", "t": 5}], b"", "line 2: unknown event kind 'warp'"),
        ([header(0), to_json(Ended(9)), to_json(Ended(3))], b"", "line 3: its time runs backwards"),
        (
            [header(0), {"k": "datagrams", "t": 1, "raw": ["{}"], "bad": []}],
            b"",
            "line 2: a recorded datagram",
        ),
    ],
)
def test_a_corrupt_or_newer_file_is_refused_naming_the_line(tmp_path, lines, tail, message):
    with pytest.raises(RecordingError, match=message):
        read_recording(write(tmp_path / "r.jsonl", lines, tail))


def test_an_oversize_file_is_refused_before_it_is_read_whole(tmp_path):
    path = write(tmp_path / "r.jsonl", [header(0), *([to_json(EVENTS[3])] * 8000)])
    with pytest.raises(RecordingError, match="larger than the cap of 1 MB"):
        read_recording(path, cap_bytes=1 << 20)


def test_the_dashboard_does_not_start_on_a_bad_file(tmp_path, capsys):
    path = write(tmp_path / "r.jsonl", [header(0)], b"{oops\n")
    with pytest.raises(SystemExit):
        parse_args(["--replay", str(path)])
    assert "line 2: not JSON" in capsys.readouterr().err


def test_the_recorder_stops_at_its_cap_with_a_message_and_a_file_no_larger(tmp_path):
    recorder = Recorder(tmp_path / "r.jsonl", cap_bytes=20_000)
    recorder.start(0)
    for i in range(2_000):
        recorder.offer(RunEnded(i, f"r{i}", "stopped"))
    recorder.stop()
    assert "the size cap was reached (0.0190735 MB; run.py --record-cap-mb sets it)" == recorder.stopped_why
    assert (tmp_path / "r.jsonl").stat().st_size <= 20_000
    assert not recorder.running
    assert len(read_recording(tmp_path / "r.jsonl").events) == recorder.events > 0


def test_a_flood_of_50000_events_a_second_is_recorded_whole_or_its_drops_counted(tmp_path):
    """Writing never blocks the collector: `offer` only queues. Below the cap every event offered
    is written, or counted as dropped; none vanishes."""
    recorder = Recorder(tmp_path / "r.jsonl.gz")
    recorder.start(0)
    batch = Datagrams(0, (decode(RAW),), (RAW.decode(),))
    started = time.monotonic()
    for second in range(2):
        for i in range(50_000):
            recorder.offer(batch._replace(t_ns=second * 10**9 + i * 20_000))
            if i % 1000 == 999:  # pace to 50,000 a second
                time.sleep(max(0.0, started + second + (i + 1) / 50_000 - time.monotonic()))
    recorder.stop()
    written = len(read_recording(tmp_path / "r.jsonl.gz").events)
    assert recorder.offered == 100_000
    assert written == recorder.events and written + recorder.dropped == 100_000


def test_a_stalled_writer_costs_the_collector_nothing_but_counted_drops(tmp_path, monkeypatch):
    """`offer` never waits: with the writer stuck on its file (a full disk, a slow NFS), events
    beyond the queue are dropped and counted, and the recording goes on once it is free."""
    stuck, release = threading.Event(), threading.Event()
    line = Recorder._line

    def slow_line(self, obj):
        stuck.set()
        release.wait(10)
        return line(self, obj)

    recorder = Recorder(tmp_path / "r.jsonl", queue_events=10)
    recorder.start(0)
    monkeypatch.setattr(Recorder, "_line", slow_line)  # after the header
    recorder.offer(RunEnded(0, "r0", "stopped"))
    stuck.wait(10)
    for i in range(1, 1_000):
        recorder.offer(RunEnded(i, f"r{i}", "stopped"))
    assert recorder.dropped == 1_000 - 1 - 10
    release.set()
    recorder.stop()
    assert recorder.events == 11 and recorder.events + recorder.dropped == recorder.offered == 1_000


@pytest.fixture
def live(tmp_path):
    app, services = create_app(Config(token="secret", recordings_dir=tmp_path), start=False)
    try:
        yield app.test_client(), services, tmp_path
    finally:
        services.collector.sock.close()
        services.spawner.close()


def test_the_presenter_starts_stops_and_downloads_a_recording(live):
    client, services, folder = live
    token = {"X-Threadpulse-Token": "secret"}
    assert client.post("/api/recording", json={"action": "start"}).status_code in (401, 403)
    assert client.get("/api/recording").json == {"recording": False, "file": None}
    started = client.post("/api/recording", json={"action": "start"}, headers=token)
    assert started.status_code == 201 and started.json["recording"] is True
    assert client.post("/api/recording", json={"action": "start"}, headers=token).status_code == 409
    assert client.get("/api/recording/file", headers=token).status_code == 409  # not whole yet
    services.store.apply(RunAdded(services.store.now_ns(), "r1", "io", 1, 1))
    stopped = client.post("/api/recording", json={"action": "stop"}, headers=token).json
    assert stopped["recording"] is False and stopped["events"] == 2 and stopped["dropped"] == 0
    with client.get("/api/recording/file", headers=token) as download:
        assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
        assert gzip.decompress(download.data).startswith(b'{"format":"threadpulse-recording"')
    (path,) = folder.glob("threadpulse-*.jsonl.gz")
    assert [type(e).__name__ for e in read_recording(path).events] == ["ServerChanged", "RunAdded", "Ended"]
    assert client.post("/api/recording", json={"action": "pause"}, headers=token).status_code == 400
