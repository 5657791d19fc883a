"""The dashboard's folder of child logs in the temp folder: one per dashboard process, removed
when it exits, and, when it could not (kill -9), by the next dashboard's start.

A folder is named after its owner, `threadpulse-PID.START-XXXX`, START being the owner's start
time in clock ticks (`/proc/PID/stat`), so that a pid reused by another process does not keep a
dead dashboard's folder alive.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "threadpulse-"
_OWNED = re.compile(rf"{PREFIX}(\d+)\.(\d+)-")


def make() -> Path:
    """A new folder owned by this process."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.{start_ticks(os.getpid())}-"))


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def remove_stale(parent: Path | None = None) -> list[Path]:
    """Remove the folders whose owner is gone; returns them. Folders named otherwise (an older
    dashboard's) are left alone: nothing says whether their owner still runs."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = _OWNED.match(folder.name)
        if owner and folder.is_dir() and start_ticks(int(owner[1])) != int(owner[2]):
            remove(folder)
            removed.append(folder)
    return removed


def start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot; None if there is no such process, or
    only its zombie: a dashboard worker killed at gunicorn's graceful timeout stays one until the
    master reaps it, and the orphan guards that clean up after it look in that moment."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # counted after the command name
    return None if fields[0] in ("Z", "X") else int(fields[19])  # state, and field 22: starttime
