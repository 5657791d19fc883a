"""Replay memory and start: `run.py --replay` of a big generated recording, as a user starts it.

`python -m bench.replay_memory [EVENTS [FLAGS...]]` writes recordings to a temporary folder in two
mixes: `tiny`, EVENTS events (default 3,000,000) of an `end` line each (~28 bytes: the most events
a megabyte can hold, as issue 17's 90 MB probe), 1 µs apart (so the replay folds them all in its
first seconds, as the probe's did), and `busy`, EVENTS / 6 events (~250 bytes each)
alternating a /proc sample of 2 processes x 4 threads and a batch of one agent datagram, as a busy
server records them. For each it starts
`run.py --replay FILE` and reports the start (until /api/health answers), the peak resident
memory of the dashboard's processes (VmHWM, the largest), their memory once serving (PSS, summed:
the pages a fork shares counted once), the first speed change (POST /api/replay), a seek to the
end (folds on) and one back to the middle (folds a fresh model from the start).
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

from dashboard.files import PROJECT_ROOT
from dashboard.recording.fileformat import header
from dashboard.servers.manager import free_port
from threadpulse_agent.protocol import Source, Task, begin_event, encode

STEP_NS = {"tiny": 1_000, "busy": 50_000_000}  # tiny: 3 s of dense events; busy: 20 a second


def lines(mix: str, count: int) -> bytes:
    out = [json.dumps(header(0), separators=(",", ":"))]
    pids = {"11": {"cpu": 5, "threads": {str(t): [5, 1] for t in range(12, 16)}}}
    pids["21"] = pids["11"]
    for i in range(count):
        t = (i + 1) * STEP_NS[mix]
        if mix == "tiny":
            line = {"k": "end", "t": t}
        elif i % 2:
            line = {"k": "sample", "t": t, "samples": pids, "backlog": 0, "kernel_drops": 0}
        else:
            raw = encode(Source("h", 11, "gunicorn-gthread", "worker"), i, 0, t,
                         [begin_event(1, i, t, "GET", "/io", "")], [Task(1, "T", "thread", 12)])  # fmt: skip
            line = {"k": "datagrams", "t": t, "raw": [raw.decode()], "bad": []}
        out.append(json.dumps(line, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def peak_kb(process: psutil.Process) -> int:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure(path: Path, *flags: str) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, str(PROJECT_ROOT / "run.py"), "--no-browser", "--port", str(port),
           "--replay", str(path), "--record-cap-mb", "1000", *flags]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if proc.poll() is not None:
                return {"refused": proc.stderr.read().decode()[-300:].strip()}
            try:
                if requests.get(url + "/api/health", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        start_s = time.monotonic() - started
        processes = tree(proc.pid)
        before = time.monotonic()
        requests.post(url + "/api/replay", json={"speed": 2}, timeout=300).raise_for_status()
        speed_s = time.monotonic() - before
        length = requests.get(url + "/api/replay", timeout=300).json()["length_s"]
        seeks = {}
        for name, at_s in (("seek_end_s", length), ("seek_back_s", length / 2)):
            before = time.monotonic()
            requests.post(url + "/api/replay", json={"at_s": at_s}, timeout=600).raise_for_status()
            seeks[name] = time.monotonic() - before
        return {
            **seeks,
            "start_s": start_s,
            "peak_mb": max(peak_kb(p) for p in processes) / 1024,
            "pss_mb": sum(p.memory_full_info().pss for p in processes) / 2**20,
            "speed_s": speed_s,
        }
    finally:
        proc.send_signal(2)
        proc.wait(30)


def main(count: int, *flags: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for mix, events in (("tiny", count), ("busy", count // 6)):
            path = Path(folder) / f"{mix}.jsonl"
            path.write_bytes(lines(mix, events))
            size = path.stat().st_size / 2**20
            print(f"{mix}: {events:,} events, {size:.0f} MB: {measure(path, *flags)}", flush=True)
            path.unlink()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000, *sys.argv[2:])
