"""What `run.py --replay` refuses at start, as a real process: one line naming the file, the line and
what is wrong, exit code 2, and no dashboard started. Guards issue 17 (fault 3, fault 6, the FIFO)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def refused(path: Path, *flags: str) -> str:
    """run.py --replay PATH's stderr, once it has exited with argparse's code 2 (a generous timeout:
    a replay that starts, or blocks, fails the test)."""
    cmd = [sys.executable, str(ROOT / "run.py"), "--no-browser", "--port", "1", "--replay", str(path), *flags]
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
