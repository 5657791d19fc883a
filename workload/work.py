"""The three kinds of work a request can do, each for a given number of milliseconds.

CPU work is measured in the thread's own CPU time (`time.thread_time`), so `/cpu?ms=500` is
half a second of computation whatever else runs: under the GIL four such requests on four
threads take about four times as long, which is the point.
"""

from __future__ import annotations

import hashlib
import time

from threadpulse_agent import phases

_NATIVE_CHUNK = b"\x5a" * (1 << 20)  # hashlib releases the GIL for buffers over 2 KiB


def wait_io(ms: int) -> None:
    """Block without using the CPU, as a database or HTTP call would."""
    phases.mark("io")
    time.sleep(ms / 1000)


def burn_python(ms: int) -> int:
    """Pure-Python arithmetic holding the GIL until this thread has used `ms` of CPU."""
    phases.mark("cpu")
    deadline = time.thread_time() + ms / 1000
    x = 0
    while time.thread_time() < deadline:
        for i in range(2_000):
            x = (x * 31 + i) % 1_000_003
    return x


def burn_native(ms: int) -> str:
    """C work (SHA-256 of 1 MiB buffers) that releases the GIL while it runs."""
    phases.mark("cpu")
    deadline = time.thread_time() + ms / 1000
    digest = hashlib.sha256()
    while time.thread_time() < deadline:
        digest.update(_NATIVE_CHUNK)
    return digest.hexdigest()
