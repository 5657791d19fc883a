"""Live captions: short sentences naming what is happening now, read off the model's state.

Each rule is a small pure function of the model (and the time) returning a sentence or None; they
are not canned per scene, so they say what the server does under any load. `captions` keeps the
first few that apply, most important first. The broadcaster computes them once per frame.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from dashboard.model.live import Model
from dashboard.model.tasks import Process, TaskState

MOST = 3
KIND_WORDS = {"greenlet": "green threads", "asyncio": "asyncio tasks", "thread": "threads"}
GREEN_CROWD = 10  # this many waiting on one OS thread is worth saying


def _alive(model: Model) -> list[Process]:
    return [p for p in model.processes.values() if p.gone_ns is None]


def _serving(process: Process) -> list[TaskState]:
    return [t for t in process.tasks.values() if t.request is not None and t.gone_ns is None]


def _count(n: int, one: str, many: str) -> str:
    return f"{'one' if n == 1 else n} {one if n == 1 else many}"


def hub_blocked(model: Model, now_ns: int) -> str | None:
    """A green server's hub held by one computing task: nothing else of the process runs."""
    for process in _alive(model):
        if process.stalled_by is None:
            continue
        hog = process.tasks.get(process.stalled_by)
        what = hog.request.path if hog is not None and hog.request is not None else "one task"
        held_ms = 0 if process.stalled_ns is None else round((now_ns - process.stalled_ns) / 1e8) * 100
        starved = sum(1 for t in _serving(process) if (t.state, t.why) == ("starved", "hub"))
        waiting = f"; {_count(starved, 'request waits', 'requests wait')} on it" if starved else ""
        return f"the hub is blocked by {what} for {held_ms} ms{waiting}"
    return None


def uneven_accept(model: Model, now_ns: int) -> str | None:
    """A worker holding accepted connections it has no thread for, while other workers idle."""
    workers = [p for p in _alive(model) if p.queue is not None]  # those that report a queue
    if len(workers) < 2:
        return None
    fullest = max(workers, key=lambda p: p.queue or 0)
    idle = [p for p in workers if not p.queue and not _serving(p)]
    if not fullest.queue or not idle:
        return None
    held = _count(fullest.queue, "connection", "connections")
    return (
        f"worker {fullest.name} holds {held} it cannot serve; {_count(len(idle), 'worker', 'workers')} idle"
    )


def gil(model: Model, now_ns: int) -> str | None:
    """Threads of one process that want a CPU while the GIL lets one of them run."""
    found = []
    for process in _alive(model):
        tasks = [t for t in _serving(process) if t.kind == "thread"]
        want = [t for t in tasks if t.phase == "cpu" or (t.state, t.why) == ("starved", "gil")]
        if len(want) >= 2 and any((t.state, t.why) == ("starved", "gil") for t in want):
            found.append((len(want), process.pid, process.name))  # its name: PID@HOST on another host
    if not found:
        return None
    wanting, _, name = max(found)
    where = f" of worker {name}" if len(_alive(model)) > 1 else ""
    return f"{wanting} threads{where} want a CPU; one holds the GIL"


def no_gil(model: Model, now_ns: int) -> str | None:
    """Threads of a free-threaded process computing at once: no GIL, only the cores to share."""
    for process in _alive(model):
        computing = [t for t in _serving(process) if t.kind == "thread" and t.phase == "cpu"]
        if process.gil or len(computing) < 2:
            continue
        waiting = sum(1 for t in computing if (t.state, t.why) == ("starved", "core"))
        cores = f"; {os.cpu_count()} cores, so {waiting} wait for a core" if waiting else ""
        return f"{len(computing)} threads computing at once: no GIL{cores}"
    return None


def cores(model: Model, now_ns: int) -> str | None:
    """Tasks ready to run that wait for a core: the machine, not the server, is the limit."""
    waiting = sum(1 for p in _alive(model) for t in _serving(p) if (t.state, t.why) == ("starved", "core"))
    if not waiting:
        return None
    if waiting == 1:
        return "one request is ready to run but waits for a free core"
    return f"{waiting} requests are ready to run but wait for a free core"


def thread_per_request(model: Model, now_ns: int) -> str | None:
    """A server with no pool: each request's thread is made for it and exits after it."""
    if model.slots_per_process is not None or model.server.get("capacity") is not None:
        return None
    for process in _alive(model):
        threads = [t for t in process.tasks.values() if t.kind == "thread"]
        gone = sum(1 for t in threads if t.gone_ns is not None)
        made = gone + sum(1 for t in threads if t.request is not None and t.gone_ns is None)
        if gone:
            return f"a new thread for each request: {made} made, {gone} gone"
    return None


def green_crowd(model: Model, now_ns: int) -> str | None:
    """Many requests waiting at once in one process: green threads or asyncio tasks, no OS threads."""
    for process in _alive(model):
        waiting = [t for t in _serving(process) if t.kind != "thread" and t.state == "waiting"]
        if len(waiting) >= GREEN_CROWD:
            kind = KIND_WORDS.get(waiting[0].kind, "tasks")
            return f"{len(waiting)} {kind} wait on I/O at once, on one OS thread"
    return None


def pool_full(model: Model, now_ns: int) -> str | None:
    """Every slot busy and requests still coming: they queue, as the law says."""
    capacity = model.server.get("capacity")
    counters = model.counters(now_ns)
    if not capacity or counters["in_service"] < capacity or not counters["queued"]:
        return None
    waiting = _count(counters["queued"], "request waits", "requests wait")
    if capacity == 1:
        return f"the one slot is busy; {waiting} for it"
    return f"all {capacity} slots busy; {waiting} for one"


RULES: tuple[Callable[[Model, int], str | None], ...] = (
    hub_blocked,
    uneven_accept,
    gil,
    no_gil,
    cores,
    thread_per_request,
    green_crowd,
    pool_full,
)


def captions(model: Model, now_ns: int) -> list[str]:
    """The sentences that apply now, most important first, at most MOST."""
    found = []
    for rule in RULES:
        sentence = rule(model, now_ns)
        if sentence:
            found.append(sentence)
            if len(found) == MOST:
                break
    return found
