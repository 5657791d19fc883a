"""The hub watch: a green thread or asyncio task that computes without yielding is named, and let go.

Monkey patching cannot be undone, so the eventlet case runs in a process of its own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
import time

from tests.support import ROOT
from threadpulse_agent.hubwatch import STALL_NS, HubWatch, LoopWatch, green_pollers
from threadpulse_agent.protocol import decode_event
from threadpulse_agent.tasks import TaskRegistry


def named(events: list) -> list[tuple[str, dict]]:
    """Events as (kind, fields by name): the one place that knows how an event is laid out."""
    return [(e[0], decode_event(list(e))._asdict()) for e in events]


def test_a_silent_hub_names_its_blocker_once_and_lets_it_go_when_the_beat_returns():
    """Ten missed ticks are a stall; it is reported once, with the time of the last beat."""
    watch = HubWatch(lambda: 42)
    watch.beat()
    last = watch.last_beat_ns
    assert watch.poll(last + STALL_NS - 1) == []
    assert named(watch.poll(last + STALL_NS)) == [("stall", {"task": 42, "t_ns": last})]
    assert watch.poll(last + 5 * STALL_NS) == []
    watch.beat()
    assert named(watch.poll(watch.last_beat_ns + 1)) == [
        ("stall_end", {"task": 42, "t_ns": watch.last_beat_ns})
    ]
    assert watch.poll(watch.last_beat_ns + 2) == []


def test_a_hub_held_by_code_that_is_no_request_is_not_a_stall():
    """Start-up or the server's own code may hold the hub: no request of ours to blame."""
    blocker: list[int | None] = [None]
    watch = HubWatch(lambda: blocker[0])
    late = watch.last_beat_ns + 3 * STALL_NS
    assert watch.poll(late) == []
    blocker[0] = 9  # a request now holds it, the hub still silent
    assert named(watch.poll(late + 1)) == [("stall", {"task": 9, "t_ns": watch.last_beat_ns})]


def test_os_threads_get_no_heartbeat():
    """Without monkey patching every request has its own OS thread: no hub to watch."""
    assert green_pollers(TaskRegistry()) == []


GREEN = textwrap.dedent(
    """
    import eventlet
    eventlet.monkey_patch()
    import json, time
    from eventlet import patcher
    from threadpulse_agent.hubwatch import green_pollers
    from threadpulse_agent.tasks import TaskRegistry, os_threading

    real_sleep = patcher.original("time").sleep
    registry = TaskRegistry()
    (poll,) = green_pollers(registry)
    ids, events, release = {}, [], [False]

    def sleeper():
        ids["sleeper"] = registry.current()
        while not release[0]:
            eventlet.sleep(0.01)

    def hog():
        ids["hog"] = registry.current()
        while not release[0]:  # computes, never yields: the hub and the heartbeat stop
            pass

    def reporter():  # a real OS thread, as the agent's reporter is
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "stall_end" not in [e[0] for e in events]:
            for event in poll(time.monotonic_ns()):
                events.append(event)
                release[0] = True
            real_sleep(0.005)

    eventlet.spawn(sleeper)
    eventlet.sleep(0.05)
    watcher = os_threading().Thread(target=reporter)
    watcher.start()
    eventlet.spawn(hog).wait()
    while watcher.is_alive():
        eventlet.sleep(0.01)  # yield, so the heartbeat can beat again
    print(json.dumps({"ids": ids, "events": events}))
    """
)


def test_a_green_thread_computing_without_yielding_is_named_by_a_real_os_thread():
    """Under eventlet one greenlet computing holds every other request: the stall names that one
    (not the one sleeping beside it), and ends once the heartbeat ticks again."""
    done = subprocess.run([sys.executable, "-c", GREEN], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    events = named(result["events"])
    assert [(kind, fields["task"]) for kind, fields in events] == [
        ("stall", result["ids"]["hog"]),
        ("stall_end", result["ids"]["hog"]),
    ]
    assert result["ids"]["hog"] != result["ids"]["sleeper"]
    assert events[0][1]["t_ns"] <= events[1][1]["t_ns"]


def test_an_asyncio_task_computing_without_awaiting_is_named_and_let_go():
    """A coroutine that computes holds up the event loop; the reporter thread names its task."""
    registry, watch = TaskRegistry(), LoopWatch()
    events: list = []
    stalled, finished = threading.Event(), threading.Event()

    def reporter() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not finished.is_set():
            for kind, fields in named(watch.poll(time.monotonic_ns())):
                events.append((kind, fields))
                (stalled if kind == "stall" else finished).set()
            time.sleep(0.005)

    async def request() -> int:
        watch.attach()
        task = registry.current_asyncio(asyncio.current_task())
        thread = threading.Thread(target=reporter)
        thread.start()
        deadline = time.monotonic() + 30
        while not stalled.is_set() and time.monotonic() < deadline:
            pass  # computing, never awaiting
        while not finished.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # awaiting: the loop's heartbeat runs again
        thread.join()
        return task

    task = asyncio.run(request())
    assert [(kind, fields["task"]) for kind, fields in events] == [("stall", task), ("stall_end", task)]
