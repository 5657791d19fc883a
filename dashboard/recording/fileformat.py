"""The recording's file: its header line, and how a file is opened for writing or reading."""

from __future__ import annotations

import gzip
import os
import socket
import time
from pathlib import Path
from typing import IO

from dashboard import __version__

SCHEMA = 1  # the recording's schema version: a reader refuses a newer one
FORMAT = "threadpulse-recording"
DEFAULT_CAP_MB = 200  # run.py --record-cap-mb: a recording stops here, the dashboard runs on


def header(start_ns: int) -> dict:
    """The first line: what the events' times are measured from, and where they were taken."""
    return {
        "format": FORMAT,
        "schema": SCHEMA,
        "version": __version__,
        "host": socket.gethostname(),
        "cores": os.cpu_count(),
        "started_wall": time.time(),
        "started_ns": start_ns,
    }


def is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


def open_for_writing(path: Path) -> IO[bytes]:
    return gzip.open(path, "wb", compresslevel=6) if is_gzip(path) else open(path, "wb")  # noqa: SIM115


def open_for_reading(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # noqa: SIM115
