"""Live captions: each rule against a hand-built model state (no server, no socket)."""

from __future__ import annotations

import os

from dashboard.model import captions as rules
from dashboard.model.captions import captions
from dashboard.model.live import Model
from dashboard.model.tasks import Process, Request, TaskState
from threadpulse_agent.protocol import Python

MS = 1_000_000


def model_of(*processes: Process, capacity: int | None = 4, slots: int | None = 4) -> Model:
    model = Model("h")
    model.set_server({"mode": "m", "status": "serving", "capacity": capacity, "pids": []}, slots)
    model.processes.update({p.key: p for p in processes})
    return model


def process(pid: int, *tasks: TaskState, queue: int | None = None) -> Process:
    return Process(pid, "h", "m", tasks={t.id: t for t in tasks}, queue=queue)


def task(
    n: int, state: str = "idle", why: str | None = None, path: str | None = None, kind: str = "thread", **kw
) -> TaskState:
    out = TaskState(n, f"T{n}", kind, n, state=state, why=why, **kw)
    if path is not None:
        out.request = Request(f"1-{n}", n, path, 0, path)
    return out


def test_nothing_happening_says_nothing():
    model = model_of(process(1, task(1), task(2)))
    assert captions(model, 0) == []


def test_hub_blocked_names_the_request_holding_it_and_for_how_long():
    """Issue 11's example: "the hub is blocked by /cpu for 480 ms" (to the 100 ms, so that frames
    do not change with every millisecond)."""
    hog = task(1, "running", path="/cpu", kind="greenlet")
    starved = [task(n, "starved", "hub", path="/io", kind="greenlet") for n in (2, 3)]
    green = process(1, hog, *starved)
    green.stalled_by, green.stalled_ns = 1, 10 * MS
    model = model_of(green, capacity=1000, slots=1000)
    assert (
        rules.hub_blocked(model, 490 * MS) == "the hub is blocked by /cpu for 500 ms; 2 requests wait on it"
    )
    green.stalled_by = green.stalled_ns = None
    assert rules.hub_blocked(model, 490 * MS) is None


def test_uneven_accept_names_the_worker_holding_connections_while_others_idle():
    """gunicorn #908: a gthread worker accepts connections its threads cannot take yet."""
    full = process(10, task(1, "waiting", path="/io"), task(2, "waiting", path="/io"), queue=7)
    idle = [process(pid, task(1), task(2), queue=0) for pid in (11, 12)]
    model = model_of(full, *idle, capacity=6, slots=2)
    assert rules.uneven_accept(model, 0) == "worker 10 holds 7 connections it cannot serve; 2 workers idle"
    idle[0].tasks[1].request = Request("11-1", 1, "/io", 0, "/io")
    idle[1].queue = 1
    assert rules.uneven_accept(model, 0) is None  # every worker has work: no one idles


def test_gil_counts_the_threads_that_want_a_cpu():
    """Issue 11's example: "4 threads want a CPU; one holds the GIL"."""
    runner = task(1, "running", path="/cpu", phase="cpu")
    starved = [task(n, "starved", "gil", path="/cpu", phase="cpu") for n in (2, 3, 4)]
    model = model_of(process(1, runner, *starved))
    assert rules.gil(model, 0) == "4 threads want a CPU; one holds the GIL"
    model.processes[("h", 2)] = process(2, task(1))
    assert rules.gil(model, 0) == "4 threads of worker 1 want a CPU; one holds the GIL"
    for t in starved:
        t.state, t.why = "running", None  # C code that releases the GIL: no one starves for it
    assert rules.gil(model, 0) is None


def test_no_gil_says_threads_compute_at_once_and_how_many_wait_for_a_core():
    """Issue 20: "4 threads computing at once: no GIL; 2 cores, so 2 wait for a core"."""
    running = [task(n, "running", path="/cpu", phase="cpu") for n in (1, 2)]
    on_core = [task(n, "starved", "core", path="/cpu", phase="cpu") for n in (3, 4)]
    free = process(1, *running, *on_core)
    model = model_of(free)
    assert rules.no_gil(model, 0) is None  # nothing said its GIL is off: it has one
    free.python = Python("3.13.5", False)
    cores = os.cpu_count()
    assert (
        rules.no_gil(model, 0) == f"4 threads computing at once: no GIL; {cores} cores, so 2 wait for a core"
    )
    for t in on_core:
        t.state, t.why = "running", None
    assert rules.no_gil(model, 0) == "4 threads computing at once: no GIL"


def test_cores_counts_requests_ready_to_run_without_a_core():
    model = model_of(
        process(1, task(1, "starved", "core", path="/cpu-native"), task(2, "running", path="/x"))
    )
    assert rules.cores(model, 0) == "one request is ready to run but waits for a free core"


def test_thread_per_request_counts_threads_made_and_gone():
    """Issue 11's example: "a new thread for each request: 8 made, 8 gone" (werkzeug's threaded=True
    makes a thread per request; the model keeps a gone one on the page for a few seconds)."""
    gone = [task(n, "gone", gone_ns=1) for n in range(2, 10)]
    model = model_of(process(1, task(1), *gone), capacity=None, slots=None)
    assert rules.thread_per_request(model, 0) == "a new thread for each request: 8 made, 8 gone"
    bounded = model_of(process(1, task(1), *gone))
    assert rules.thread_per_request(bounded, 0) is None  # a pool whose thread died is not this


def test_green_crowd_says_how_many_wait_on_one_os_thread():
    waiting = [task(n, "waiting", path="/io", kind="greenlet") for n in range(12)]
    model = model_of(process(1, *waiting), capacity=1000, slots=1000)
    assert rules.green_crowd(model, 0) == "12 green threads wait on I/O at once, on one OS thread"
    assert rules.green_crowd(model_of(process(1, *waiting[:3])), 0) is None


def test_pool_full_says_requests_queue_for_a_slot():
    """The queueing law in words: every slot busy, the rest wait."""
    busy = [task(n, "waiting", path="/io") for n in range(4)]
    model = model_of(process(1, *busy))
    model.add_run("r1", "io", 12, 500)
    run = model.runs["r1"]
    for i in range(12):
        run.record_sent(i, 0)
    for i in range(4):
        run.record_begin(i, 1, 0, ("h", 1))
    assert rules.pool_full(model, 0) == "all 4 slots busy; 8 requests wait for one"
    model.server["capacity"] = 1
    assert rules.pool_full(model, 0) == "the one slot is busy; 8 requests wait for it"
    model.set_server({"mode": "m", "status": "serving", "capacity": None, "pids": []}, None)
    assert rules.pool_full(model, 0) is None  # unbounded: nothing to fill


def test_at_most_three_captions_most_important_first():
    hog = task(1, "running", path="/cpu", kind="greenlet")
    crowd = [task(n, "starved", "hub", path="/io", kind="greenlet") for n in range(2, 14)]
    green = process(1, hog, *crowd)
    green.stalled_by, green.stalled_ns = 1, 0
    full = process(2, task(1, "waiting", path="/io"), queue=3)
    idle = process(3, task(1), queue=0)
    cpu = process(4, task(1, "running", path="/cpu", phase="cpu"), task(2, "starved", "gil", path="/cpu"))
    short = process(5, task(1, "starved", "core", path="/cpu"))
    model = model_of(green, full, idle, cpu, short)
    said = captions(model, 100 * MS)
    assert said == [
        "the hub is blocked by /cpu for 100 ms; 12 requests wait on it",
        "worker 2 holds 3 connections it cannot serve; one worker idle",
        "2 threads of worker 4 want a CPU; one holds the GIL",
    ]


def test_a_caption_names_a_worker_of_another_host_by_its_host_too():
    """Issue 21: two hosts' pid 1 are two workers; a caption about one says which."""
    starved = [task(n, "starved", "gil", path="/cpu", phase="cpu") for n in (1, 2)]
    model = model_of(process(1, task(1)))
    there = Process(1, "elsewhere", "m", name="1@elsewhere", tasks={t.id: t for t in starved})
    model.processes[there.key] = there
    assert rules.gil(model, 0) == "2 threads of worker 1@elsewhere want a CPU; one holds the GIL"
