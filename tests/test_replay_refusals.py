"""What `run.py --replay` refuses at start, as a real process: one line naming the file, the line and
what is wrong, exit code 2, and no dashboard started. Guards issue 17 (fault 3, fault 6, the FIFO)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.servers.manager import free_port
from tests.support import ROOT
from tests.test_recording import good_lines
from tests.test_recording_schema import POISONS, mutated, write


def refused(path: Path, *flags: str) -> str:
    """run.py --replay PATH's stderr, once it has exited with argparse's code 2 (a generous timeout:
    a replay that starts, or blocks, fails the test)."""
    port = str(free_port())
    cmd = [
        sys.executable,
        str(ROOT / "run.py"),
        "--no-browser",
        "--port",
        port,
        "--replay",
        str(path),
        *flags,
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    return done.stderr


def test_a_fifo_is_refused_at_once_with_a_message(tmp_path):
    """Issue 17, the FIFO: `--replay` of a FIFO blocked in open() waiting for a writer, saying nothing."""
    fifo = tmp_path / "talk.jsonl"
    os.mkfifo(fifo)
    assert f"--replay: {fifo}: is a FIFO, not a regular file" in refused(fifo)


def test_a_folder_is_refused_with_a_message(tmp_path):
    assert f"--replay: {tmp_path}: is a folder, not a regular file" in refused(tmp_path)


@pytest.mark.parametrize(
    ("probe", "number", "place", "value", "message"), POISONS, ids=[p[0] for p in POISONS]
)
def test_run_py_refuses_the_issues_poisoned_recordings_naming_line_and_field(
    tmp_path, probe, number, place, value, message
):
    """Issue 17, fault 3: these replays started, then answered 500 (286 tracebacks in 8 s for the
    capacity); now the start stops with the line and the field."""
    path = write(tmp_path / "r.jsonl", mutated(good_lines(), number, place, value))
    assert f"--replay: {path}: {message}" in refused(path)
