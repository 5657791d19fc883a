"""The recording's file: its header line, and how a file is opened for writing or reading."""

from __future__ import annotations

import gzip
import os
import socket
import time
from pathlib import Path
from typing import IO, Annotated, Required, TypedDict

from dashboard import __version__
from dashboard.model.fields import Between, Ns

SCHEMA = 1  # the recording's schema version: a reader refuses a newer one
FORMAT = "threadpulse-recording"


class Header(TypedDict, total=False):
    """The first line's fields, as the reader checks them (`format` and `schema` first)."""

    format: Required[str]
    schema: Required[int]
    version: str
    host: Required[str]
    cores: Annotated[int, Between(1, 1 << 20)] | None
    started_wall: Required[Annotated[float, Between(0, 1e10)]]  # Unix time, up to the year 2286
    started_ns: Required[Ns]


def header(start_ns: int) -> Header:
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
