"""How a task in a request is judged from one /proc window: running, waiting or starved, and why."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dashboard.model.classify import EXPLANATIONS, RUNNING_SHARE, classify

PHASES = (None, "cpu", "io")


def test_half_the_window_on_a_cpu_is_running_whatever_the_phase():
    """A task on a core at least half the time is running, even one that declared I/O."""
    for phase in PHASES:
        assert classify(phase, RUNNING_SHARE, 0.0) == ("running", None)
        assert classify(phase, 1.0, 0.0) == ("running", None)


def test_a_cpu_phase_blocked_rather_than_runnable_is_starved_by_the_gil():
    """Nothing but the GIL blocks pure computation (DESIGN: how starved is told apart)."""
    assert classify("cpu", 0.25, 0.05) == ("starved", "gil")


def test_a_cpu_phase_runnable_rather_than_blocked_is_starved_for_a_core():
    """Runnable but not running is the run queue: another process holds the cores."""
    assert classify("cpu", 0.1, 0.6) == ("starved", "core")


def test_an_io_phase_that_blocks_is_waiting_not_starved():
    """A request blocked on its own I/O wants nothing: blocked is not starved outside a CPU phase."""
    assert classify("io", 0.01, 0.0) == ("waiting", None)
    assert classify(None, 0.01, 0.0) == ("waiting", None)


def test_any_phase_mostly_runnable_is_starved_for_a_core():
    """Run-queue time is the OS's own word that the task wanted a core, declared or not."""
    assert classify("io", 0.1, 0.7) == ("starved", "core")
    assert classify(None, 0.2, 0.5) == ("starved", "core")


def test_undeclared_code_that_computes_more_than_it_blocks_is_running():
    """Without a phase a busy loop under the GIL (0.4 on a core, 0.3 blocked) is not called waiting."""
    assert classify(None, 0.4, 0.3) == ("running", None)
    assert classify("io", 0.4, 0.3) == ("waiting", None)


fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(st.sampled_from(PHASES), fraction, fraction)
def test_every_verdict_is_a_known_state_and_starved_always_says_why(phase, share, runnable):
    """The page shows an explanation for each starved tile: a verdict without one shows nothing."""
    runnable = min(runnable, 1.0 - share)  # one window: on a CPU + runnable ≤ all of it
    state, why = classify(phase, share, runnable)
    assert state in ("running", "waiting", "starved")
    assert (why is not None) == (state == "starved")
    assert why is None or why in EXPLANATIONS


def test_a_process_without_a_gil_never_has_a_thread_waiting_on_it():
    """Issue 20: on a free-threaded build a computing thread that is runnable waits for a core, and
    one blocked waits on something that is not the GIL (there is none); with a GIL, the GIL."""
    assert classify("cpu", 0.1, 0.6, gil=False) == ("starved", "core")
    assert classify("cpu", 0.1, 0.1, gil=False) == ("waiting", None)
    assert classify("cpu", 0.1, 0.1, gil=True) == ("starved", "gil")
