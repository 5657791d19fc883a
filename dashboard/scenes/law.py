"""The law's prediction for a scene: what a burst will do on a mode, computed, not typed.

I/O-bound work (`io`, `hello`) is limited by slots only: n requests of s ms on c slots keep
min(n, c) busy and take ceil(n / c) · s. CPU-bound work is also limited by what can compute at
once: this machine's cores, and for pure-Python work (`cpu`, holding the GIL) one thread per
process. Its makespan is the larger of the slot law and the CPU time spread over those runners.
`mixed` requests wait s/2, then compute s/2: the two halves are predicted apart and added.
On a build without the GIL (`gil=False`: the free-threaded one) pure-Python work runs as C work does.
"""

from __future__ import annotations

import math
import os

from dashboard.loadspec.limits import Burst
from dashboard.model.verdict import Prediction
from dashboard.servers.mode import Mode

HOLDS_GIL = ("cpu",)  # pure Python: one thread of a process computes at a time
RELEASES_GIL = ("cpu-native", "cpu-pool")  # C work, or work handed to a pool of processes


def cores() -> int:
    """The cores this process may run on (what the CPU-bound predictions assume)."""
    return len(os.sched_getaffinity(0))


def predict(mode: Mode, params: dict[str, int], burst: Burst, ncores: int, gil: bool = True) -> Prediction:
    """What the law says `burst` does on `mode` with `params`, on a machine of `ncores` cores, on
    a Python with its GIL (`gil`) or without."""
    slots = mode.capacity(params) or burst.count  # unbounded: a task per request
    busy = min(burst.count, slots)
    if burst.endpoint == "mixed":
        io_ms = burst.ms // 2
        io = math.ceil(burst.count / slots) * io_ms
        return Prediction(
            io + _cpu_ms(params, burst.count, burst.ms - io_ms, slots, "cpu", ncores, gil), busy
        )
    if burst.endpoint in HOLDS_GIL + RELEASES_GIL:
        return Prediction(_cpu_ms(params, burst.count, burst.ms, slots, burst.endpoint, ncores, gil), busy)
    return Prediction(math.ceil(burst.count / slots) * burst.ms, busy)


def _cpu_ms(
    params: dict[str, int], count: int, ms: int, slots: int, endpoint: str, ncores: int, gil: bool
) -> int:
    """Makespan of `count` CPU-bound requests of `ms`: by slots, or by the CPUs that can run them."""
    runners = min(slots, ncores)
    if gil and endpoint in HOLDS_GIL:
        runners = min(runners, params.get("workers", 1))  # every mode without workers is one process
    by_slots = math.ceil(count / slots) * ms
    return max(by_slots, math.ceil(count * ms / runners))
