"""Which state a task in a request is in, from what the OS measured and what the code declared.

Over one sampling window the OS says how the thread split its time: on a CPU (`share`),
runnable but waiting for a core (`runnable`), and the rest blocked. Blocked means I/O, a
sleep, a lock — or the GIL. The workload declares a phase: a thread in a CPU phase that is
blocked is waiting for the GIL, since nothing else blocks pure computation; in a process whose
GIL is off (a free-threaded build) there is none to wait for, and no thread is ever said to.
"""

from __future__ import annotations

RUNNING_SHARE = 0.5  # on a CPU at least half the window: running

EXPLANATIONS = {
    "gil": "in a CPU phase but blocked, not runnable: waiting for the GIL (per-thread /proc schedstat)",
    "core": "runnable but not on a CPU: waiting for a free core (run-queue time in /proc schedstat)",
    "hub": "another green thread or asyncio task of this process computes without yielding, so the "
    "hub (event loop) cannot resume this one (the agent's heartbeat on the hub stopped ticking)",
}


def classify(phase: str | None, share: float, runnable: float, gil: bool = True) -> tuple[str, str | None]:
    """(state, why) for a task in a request; why is "gil" or "core" when starved, else None.
    `gil` False: the process has no GIL, so a computing thread blocked waits on something else."""
    if share >= RUNNING_SHARE:
        return "running", None
    blocked = max(0.0, 1.0 - share - runnable)
    if phase == "cpu" and gil:
        return "starved", ("core" if runnable >= blocked else "gil")
    if runnable >= max(blocked, share):
        return "starved", "core"
    if phase is None and share >= blocked:
        return "running", None
    return "waiting", None
