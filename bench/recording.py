"""Recording size and seek time: a busy scene (gunicorn gthread 4 x 2 under repeated bursts)
recorded for MINUTES minutes, then read and folded whole (a seek to its end, the worst one).

`python -m bench.recording [MINUTES]`; results in docs/recording.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from dashboard.app import create_app
from dashboard.config import Config
from dashboard.model.events import fold
from dashboard.model.live import Model
from dashboard.recording.reader import read_recording

BURSTS = ({"endpoint": "io", "count": 16, "ms": 400}, {"endpoint": "cpu", "count": 8, "ms": 200})


def record(path: Path, seconds: float) -> dict:
    config = Config(mode="gunicorn-gthread", server_params={"workers": 4, "threads": 2}, record=path)
    app, services = create_app(config, start=True)
    client = app.test_client()
    try:
        while services.servers.info()["status"] != "serving":
            time.sleep(0.1)
        until, fired = time.monotonic() + seconds, 0
        while time.monotonic() < until:
            run = client.post("/api/load", json=BURSTS[fired % 2]).json["run"]
            fired += 1
            while client.get(f"/api/runs/{run}").json["state"] == "running":
                time.sleep(0.1)
        return {**services.stop_recording(), "bursts": fired}
    finally:
        services.shutdown()


def main(minutes: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "busy.jsonl.gz"
        status = record(path, minutes * 60)
        size = path.stat().st_size
        print(f"recorded {minutes:g} min, {status['bursts']} bursts: {status['events']} events,"
              f" dropped {status['dropped']}")  # fmt: skip
        raw = status["bytes"] / 1e6
        print(f"  gzipped {size / 1e6:.2f} MB ({size / 1e6 / minutes:.2f} MB/min);"
              f" uncompressed {raw:.1f} MB ({raw / minutes:.1f} MB/min)")  # fmt: skip
        for _ in range(3):
            started = time.perf_counter()
            recording = read_recording(path)
            read_s = time.perf_counter() - started
            model = Model()
            started = time.perf_counter()
            for event in recording.events:
                fold(model, event)
            fold_s = time.perf_counter() - started
            count = len(recording.events)
            print(f"  read {read_s:.2f} s; seek to the end (fold all {count} events) {fold_s:.2f} s")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
