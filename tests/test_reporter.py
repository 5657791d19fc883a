"""The agent's reporter: the first event after a quiet spell goes out at once, a flood goes out in at
most one flush an interval, and an idle reporter does not tick (issue 9, parts 3 and 4).

Each test reads real datagrams from a UDP socket bound here. None asserts on speed: a long
interval makes "at once" tell apart from "at the next tick", and counts of flushes are bounded by
the law (one an interval), which a slow machine only makes smaller.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support import ROOT, udp_listener, wait_for
from threadpulse_agent.protocol import Queue, decode, queue_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import ROSTER_INTERVAL_S, Reporter, local_source
from threadpulse_agent.tasks import TaskRegistry

LONG = 60.0  # an interval no test waits out: what arrives before it came on the leading edge


@pytest.fixture
def collector() -> Iterator[socket.socket]:
    with udp_listener(10) as sock:
        yield sock


def received(sock: socket.socket) -> list[tuple]:
    """The events of the next datagram (waiting for it up to the socket's timeout)."""
    return list(decode(sock.recv(65_535)).events)


def reporter_to(sock: socket.socket, recorder: Recorder, **kwargs) -> Reporter:
    return Reporter(sock.getsockname(), local_source("test", "worker"), recorder, **kwargs)


def test_the_first_event_after_a_quiet_spell_goes_out_at_once_and_the_next_ones_wait(collector):
    """Leading edge: with a 60 s interval, the first event can only arrive this soon because the
    recorder woke the reporter; the events right after it wait for the interval (here: for the
    final flush at stop), all in one flush rather than one each."""
    recorder = Recorder()
    reporter = reporter_to(collector, recorder, interval=LONG)
    reporter.start()
    try:
        recorder.add(queue_event(1, 0))
        assert received(collector) == [Queue(1, 0)]
        for depth in range(2, 12):
            recorder.add(queue_event(depth, depth))
    finally:
        reporter.stop()
    assert received(collector) == [Queue(depth, depth) for depth in range(2, 12)]
    assert reporter.flushes == 2


def test_a_flood_goes_out_in_at_most_one_flush_an_interval(collector):
    """The request rate does not set the reporter's cost: 20 flushes a second at most, however
    many events come (the leading edge and the final flush at stop add one each)."""
    recorder = Recorder()
    reporter = reporter_to(collector, recorder)
    added = 0
    started = time.monotonic()
    reporter.start()
    try:
        while time.monotonic() - started < 1.0:
            recorder.add(queue_event(added, 0))
            added += 1
            if added % 50 == 0:
                time.sleep(0.001)  # a flood, but not one that fills the buffer (20,000) and drops
    finally:
        reporter.stop()
    elapsed = time.monotonic() - started
    assert reporter.flushes <= elapsed / reporter.interval + 2
    assert (recorder.waiting(), recorder.dropped) == (0, 0)  # every event was sent


def test_a_clicks_first_event_goes_out_before_the_roster_and_the_pollers_are_read(collector):
    """Issue 22: after a quiet spell the roster is due (every second), and reading it (/proc) or
    a poller (other threads' frames) made the reporter wait for the GIL behind the request's own
    thread before the click's first event could go. Here the poller blocks until the event has
    arrived: it can only arrive if it went out first, in a flush of its own."""
    registry = TaskRegistry()
    registry.current()  # a task the first roster names: the event's task is no news
    release, calls = threading.Event(), []

    def blocking(now_ns: int) -> list:
        calls.append(now_ns)
        if len(calls) > 1:
            release.wait(20)
        return []

    recorder = Recorder()
    reporter = reporter_to(collector, recorder, registry=registry, pollers=[blocking], active=lambda: False)
    collector.settimeout(5)
    reporter.start()
    try:
        assert decode(collector.recv(65_535)).tasks  # the first tick's roster
        recorder.add(queue_event(1, 0))
        assert received(collector) == [Queue(1, 0)]
    finally:
        release.set()
        reporter.stop()


def test_an_idle_reporter_polls_once_a_second_and_a_busy_one_every_interval(collector):
    """No request in flight and nothing buffered: the reporter sleeps until the roster is due
    instead of waking 20 times a second to find nothing to send."""
    polls = {"idle": 0, "busy": 0}

    def counting(name: str):
        def poll(now_ns: int) -> list:
            polls[name] += 1
            return []

        return poll

    idle = reporter_to(collector, Recorder(), pollers=[counting("idle")], active=lambda: False)
    busy = reporter_to(collector, Recorder(), pollers=[counting("busy")], active=lambda: True)
    started = time.monotonic()
    idle.start()
    busy.start()
    wait_for(lambda: polls["busy"] >= 4, what="the busy reporter's ticks")
    idle.stop()
    busy.stop()
    # The first tick, one a second for the roster, the one at stop.
    assert polls["idle"] <= 2 + (time.monotonic() - started) / ROSTER_INTERVAL_S


def test_a_recorder_wakes_its_reporter_only_for_an_event_into_an_empty_buffer():
    """The request path pays for the wake-up once a flush at most, not once an event."""
    recorder = Recorder()
    wakes = []
    recorder.notify = lambda: wakes.append(recorder.waiting())
    for i in range(5):
        recorder.add(queue_event(i, 0))
    assert wakes == [1]
    assert len(recorder.drain()) == 5
    recorder.add(queue_event(9, 0))
    assert wakes == [1, 1]


GREEN_SCRIPT = """
import sys, time
if sys.argv[1] == "eventlet":
    import eventlet
    eventlet.monkey_patch()
else:
    from gevent import monkey
    monkey.patch_all()
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.protocol import queue_event
from threadpulse_agent.reporter import Reporter, local_source

recorder = Recorder()
reporter = Reporter(("127.0.0.1", int(sys.argv[2])), local_source("test", "worker"), recorder, interval=60.0)
reporter.start()
quiet = time.monotonic() + 0.2
while time.monotonic() < quiet:  # no yield: the reporter, an OS thread, goes quiet meanwhile
    pass
recorder.add(queue_event(7, 0))
deadline = time.monotonic() + 20
while reporter.flushes == 0 and time.monotonic() < deadline:  # hogs the hub, never yields
    pass
print(reporter.flushes)
"""


@pytest.mark.parametrize("library", ["eventlet", "gevent"])
def test_a_green_thread_wakes_the_reporter_while_it_hogs_the_hub(collector, library):
    """Under monkey patching the reporter is a real OS thread, and the recorder's wake-up must
    cross from a green thread to it: the event goes out long before the 60 s interval although
    the green thread that added it never yields."""
    child = subprocess.run(
        [sys.executable, "-c", GREEN_SCRIPT, library, str(collector.getsockname()[1])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert received(collector) == [Queue(7, 0)]
    assert json.loads(child.stdout.split()[-1]) == 1


def test_a_poller_that_raises_costs_its_events_and_a_drop_not_the_reporter(collector):
    """A poller reading another thread's frames raised once in a gunicorn worker: the reporter
    thread died with it, and the worker's later requests were never reported."""
    calls = {"n": 0}

    def flaky(now_ns: int) -> list:
        calls["n"] += 1
        if calls["n"] == 1:
            raise AttributeError("'dict' object has no attribute 'f_code'")
        return []

    recorder = Recorder()
    reporter = reporter_to(collector, recorder, pollers=[flaky], active=lambda: True)
    reporter.start()
    try:
        wait_for(lambda: calls["n"] >= 2, what="a poll after the one that raised")
        recorder.add(queue_event(1, 3))
        assert Queue(1, 3) in wait_for(lambda: received(collector), what="the event after it")
    finally:
        reporter.stop()
    assert recorder.dropped == 1


def test_stop_sends_what_waits_for_the_interval_and_ends_the_reporter(collector):
    """stop() (the load generator's exit) does not wait out the interval: what is buffered goes
    out at once."""
    recorder = Recorder()
    reporter = reporter_to(collector, recorder, interval=LONG)
    reporter.start()
    recorder.add(queue_event(1, 0))
    assert received(collector) == [Queue(1, 0)]
    recorder.add(queue_event(2, 0))
    stopper = threading.Thread(target=reporter.stop)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive()
    assert received(collector) == [Queue(2, 0)]
