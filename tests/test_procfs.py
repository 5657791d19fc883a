"""What the collector reads from /proc: this process's real threads, a real zombie, real sockets."""

from __future__ import annotations

import os
import subprocess
import threading
import time

from dashboard.collector.procfs import sample_process
from tests.support import wait_for
from threadpulse_agent.procstat import NS_PER_TICK

PID = os.getpid()


def parked(event: threading.Event) -> None:
    event.wait()


def spin(stop: threading.Event) -> None:
    while not stop.is_set():
        pass


def on_cpu(tid: int) -> int:
    return sample_process(PID, [tid]).threads[tid][0]


def test_a_spinning_thread_gains_cpu_and_a_blocked_one_gains_none():
    """Per-thread CPU is the thread's own (schedstat), not the process's: the tiles depend on it."""
    stop, release = threading.Event(), threading.Event()
    spinner = threading.Thread(target=spin, args=(stop,))
    sleeper = threading.Thread(target=parked, args=(release,))
    spinner.start()
    sleeper.start()
    tids = [spinner.native_id, sleeper.native_id]

    def quiet_window() -> tuple[dict, dict] | None:
        """Two samples 10 ms of the spinner's CPU apart in which the sleeper ran not at all."""
        before = sample_process(PID, tids).threads
        wait_for(lambda: on_cpu(spinner.native_id) > before[spinner.native_id][0] + 10_000_000)
        after = sample_process(PID, tids).threads
        return (before, after) if after[sleeper.native_id][0] == before[sleeper.native_id][0] else None

    try:
        # Retried only while the sleeper may still be on its way into the wait (or the GIL's).
        before, after = wait_for(quiet_window, what="the sleeper to block")
    finally:
        stop.set()
        release.set()
        spinner.join()
        sleeper.join()
    for tid in (spinner.native_id, sleeper.native_id):
        assert after[tid][1] >= before[tid][1] >= 0  # run-queue time only grows


def test_the_process_cpu_agrees_with_the_os_clock_of_this_process():
    """utime + stime in ticks, turned into ns: within the ticks they are counted in."""
    start = time.process_time_ns()
    while time.process_time_ns() - start < 20 * NS_PER_TICK:
        pass
    low = time.process_time_ns()
    cpu_ns = sample_process(PID, []).cpu_ns
    high = time.process_time_ns()
    assert low - 3 * NS_PER_TICK <= cpu_ns <= high + NS_PER_TICK


def test_a_thread_that_has_exited_is_left_out():
    """Only live threads are sampled; after join the kernel may list it a little longer (FIELD-NOTES)."""
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    wait_for(lambda: thread.native_id not in sample_process(PID, [thread.native_id]).threads, what="exit")


def test_a_zombie_process_is_gone_before_its_parent_reaps_it():
    """A killed worker is dead once it exits: the page must not wait for the arbiter's waitpid."""
    child = subprocess.Popen(["true"])
    try:
        wait_for(lambda: sample_process(child.pid, []) is None, what="the child to exit")
        assert child.returncode is None  # not reaped: a zombie, still in /proc
        assert os.path.exists(f"/proc/{child.pid}")
    finally:
        child.wait()
