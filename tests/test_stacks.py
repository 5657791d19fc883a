"""The stack sampler: where each busy task is in its code, read from real frames, within a budget."""

from __future__ import annotations

import sys
import threading
import time

from tests.support import wait_for
from threadpulse_agent.protocol import MAX_STACK, decode_event
from threadpulse_agent.stacks import (
    BUDGET,
    DEPTH,
    MIN_INTERVAL_NS,
    REPORT_EVERY_NS,
    StackSampler,
    format_stack,
)

MS = 1_000_000


def named(events: list) -> list[tuple[str, dict]]:
    """Events as (kind, fields by name): the one place that knows how an event is laid out."""
    return [(e[0], decode_event(list(e))._asdict()) for e in events]


def stacks(events: list) -> dict[int, str]:
    return {fields["task"]: fields["frames"] for kind, fields in named(events) if kind == "stack"}


def no_frame(task: int, frames: dict) -> None:
    """An OS thread's task: the registry has no frame of its own for it."""
    return None


def inner() -> str:
    return format_stack(sys._getframe())


def outer() -> str:
    return inner()


def test_a_stack_reads_innermost_first_with_function_file_and_line():
    """The inspector shows where the request is now: the innermost frame on top."""
    lines = outer().splitlines()
    assert lines[0] == f"inner (test_stacks.py:{inner.__code__.co_firstlineno + 1})"
    assert lines[1] == f"outer (test_stacks.py:{outer.__code__.co_firstlineno + 1})"


def test_a_deep_stack_is_cut_to_its_innermost_frames_and_the_text_limit():
    """A datagram's `frames` holds at most MAX_STACK characters: the decoder refuses more."""

    def deep(n: int) -> str:
        return deep(n - 1) if n else format_stack(sys._getframe())

    lines = deep(3 * DEPTH).splitlines()
    assert len(lines) == DEPTH and all(line.startswith("deep (") for line in lines)
    namespace: dict = {}
    exec(f"def {'f' * MAX_STACK}(g):\n    return g()", namespace)  # a name longer than the limit
    assert len(namespace["f" * MAX_STACK](outer)) == MAX_STACK
    assert format_stack(None) == ""


def parked(event: threading.Event) -> None:
    event.wait()


def test_a_busy_os_thread_is_sampled_where_it_is_blocked():
    """An OS thread's frame comes from sys._current_frames(), keyed by the ident in `busy`."""
    release = threading.Event()
    thread = threading.Thread(target=parked, args=(release,))
    thread.start()
    try:
        wait_for(lambda: "parked (" in format_stack(sys._current_frames().get(thread.ident)), what="parking")
        sampler = StackSampler({7: thread.ident}, no_frame)
        frames = stacks(sampler.poll(time.monotonic_ns()))[7]
    finally:
        release.set()
        thread.join()
    assert "\nparked (test_stacks.py:" in frames  # under threading's own wait frames


def test_a_task_frame_from_the_registry_wins_over_the_thread_ident():
    """A green thread or asyncio task is not in sys._current_frames(): the registry reads its frame."""

    def suspended():
        yield

    generator = suspended()
    next(generator)
    sampler = StackSampler({3: 0}, lambda task, frames: generator.gi_frame if task == 3 else None)
    assert stacks(sampler.poll(0))[3].startswith("suspended (test_stacks.py:")


def test_stacks_are_sampled_no_sooner_than_the_interval():
    """The sampler runs on every reporter flush (20 a second) but samples far less often."""
    sampler = StackSampler({1: threading.get_ident()}, no_frame)
    assert 1 in stacks(sampler.poll(10 * MS))
    assert sampler.interval_ns >= MIN_INTERVAL_NS
    assert stacks(sampler.poll(10 * MS + sampler.interval_ns - 1)) == {}
    assert 1 in stacks(sampler.poll(10 * MS + sampler.interval_ns))


def test_a_costly_sample_stretches_the_interval_to_stay_within_the_cpu_budget():
    """The sampler's own CPU stays under BUDGET of a core, whatever a sample costs."""

    def costly(task: int, frames: dict) -> None:
        start = time.thread_time_ns()
        while time.thread_time_ns() - start < 5 * MS:  # 5 ms of CPU, however fast the machine
            pass
        return None

    sampler = StackSampler({1: threading.get_ident()}, costly)
    (report,) = [fields for kind, fields in named(sampler.poll(0)) if kind == "sampling"]
    assert report["cost_ns"] >= 5 * MS
    assert report["cost_ns"] <= BUDGET * (report["interval_ms"] + 1) * MS
    assert report["interval_ms"] * MS > MIN_INTERVAL_NS
    assert stacks(sampler.poll(report["interval_ms"] * MS - 1)) == {}


def test_the_cost_is_reported_once_a_second_and_counted_afresh():
    """The page shows the sampler's share of a core per second: each report counts its own second."""
    busy = {1: threading.get_ident()}
    sampler = StackSampler(busy, no_frame)
    first = named(sampler.poll(0))
    assert [kind for kind, _ in first] == ["stack", "sampling"] and first[1][1]["cost_ns"] > 0
    busy.clear()  # the request ended: nothing more to sample
    assert sampler.poll(REPORT_EVERY_NS // 2) == []
    assert named(sampler.poll(REPORT_EVERY_NS)) == [
        ("sampling", {"t_ns": REPORT_EVERY_NS, "cost_ns": 0, "interval_ms": sampler.interval_ns // MS})
    ]


def test_a_walk_stops_at_what_is_not_a_frame():
    """CPython 3.11 handed the sampler a dict for another thread's frame (it ended the agent's
    reporter in a gunicorn gthread worker, and that worker's requests went uncounted)."""
    assert format_stack({"f_code": None}) == ""
