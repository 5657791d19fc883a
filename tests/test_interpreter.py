"""The interpreter a process runs on, as its agent reports it (`src.python`, issue 20): version and
whether the GIL is on, sent with each roster, shown per server, and heeded when threads are judged."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import pytest

import threadpulse_agent
from dashboard.model.live import Model
from dashboard.model.servers import managed_python
from dashboard.model.tasks import ProcessSample
from dashboard.model.views import state_view
from tests.pythons import interpreter
from threadpulse_agent import protocol
from threadpulse_agent.interpreter import this_python
from threadpulse_agent.protocol import Datagram, Python, Source, Task, begin_event, decode_event, phase_event

MS = 1_000_000
FREE = Python("3.13.5", False)


def test_this_python_says_its_version_and_that_its_gil_is_on():
    assert this_python() == Python(platform.python_version(), True)


def test_a_python_older_than_3_13_has_a_gil_and_says_so():
    """The agent runs on 3.9+, where `sys._is_gil_enabled` does not exist: those have a GIL."""
    code = "from threadpulse_agent.interpreter import this_python; p = this_python(); print(p.version, p.gil)"
    agent = str(Path(threadpulse_agent.__file__).parent.parent)
    done = subprocess.run(
        [str(interpreter("3.9")), "-c", code], env={"PYTHONPATH": agent}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    version, gil = done.stdout.split()
    assert version.startswith("3.9.") and gil == "True"


def test_the_interpreter_travels_with_the_roster_only():
    source = Source("h", 1, "m", "worker", python=FREE)
    roster, events = protocol.encode_batches(source, iter(range(9)), 0, 0, [phase_event(1, 2, "cpu")], [])
    assert protocol.decode(roster).source.python == FREE
    assert protocol.decode(events).source.python is None


@pytest.mark.parametrize(
    "python", ["x", {"version": "3.13"}, {"version": 3, "gil": True}, {"version": "3.13", "gil": 0}]
)
def test_a_malformed_interpreter_drops_the_datagram(python):
    body = {"v": protocol.SCHEMA_VERSION, "seq": 0, "dropped": 0, "t": 0, "ev": []}
    body["src"] = {"host": "h", "pid": 1, "mode": "m", "role": "worker", "python": python}
    with pytest.raises(protocol.ProtocolError, match="bad_field"):
        protocol.decode(json.dumps(body).encode())


def _computing(python: Python) -> Model:
    """A managed process on `python` whose one thread computes, blocked but not runnable for a
    whole window: the GIL with one, something else without."""
    model = Model("h")
    model.set_server({"mode": "gunicorn-gthread", "status": "serving", "capacity": 4, "pids": [7]}, 4)
    task = Task(70, "t", "thread", 70)
    events = [begin_event(70, 0, 0, "GET", "/cpu", ""), phase_event(70, 0, "cpu")]
    source = Source("h", 7, "gunicorn-gthread", "worker", python=python)
    model.apply(Datagram(source, 0, 0, 0, (task,), tuple(map(decode_event, events))), 0)
    for step, cpu_ns in ((1, 0), (2, 100 * MS), (3, 200 * MS)):
        model.apply_cpu(7, ProcessSample(cpu_ns, {70: (cpu_ns, 0)}), step * 1000 * MS)
    return model


def test_the_server_carries_its_interpreter_and_a_gil_free_thread_never_waits_on_the_gil():
    """A computing thread blocked 90% of a window waits on the GIL where there is one; in a process
    whose GIL is off it is waiting (on something else), and `/api/state`'s server says GIL off."""
    with_gil = _computing(Python(platform.python_version(), True))
    (task,) = state_view(with_gil, 3000 * MS)["processes"][0]["tasks"]
    assert (task["state"], task["why"]) == ("starved", "gil")
    free = _computing(FREE)
    state = state_view(free, 3000 * MS)
    (task,) = state["processes"][0]["tasks"]
    assert (task["state"], task["why"]) == ("waiting", None)
    assert state["servers"][0]["python"] == {"version": "3.13.5", "gil": False}
    assert managed_python(free) == {"version": "3.13.5", "gil": False}


def test_a_process_that_has_not_said_its_interpreter_is_shown_with_none():
    model = Model("h")
    source = Source("h", 8, "m", "worker")
    model.apply(Datagram(source, 0, 0, 0, (Task(1, "t", "thread", 1),), ()), 0)
    assert state_view(model, 0)["servers"][0]["python"] is None
