"""What a server mode is: how to start the workload under one server, and what its capacity is.

Each mode is one module in `dashboard/servers/modes/` defining a `Mode` subclass; the registry
finds them there. Parameters are validated here, so the API and the CLI share one set of rules.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dashboard.servers.on_demand import BuildFailed, Extra

# Listen queue every mode asks for: a burst of 500 connects at once must not overflow it.
LISTEN_BACKLOG = 1024


@dataclass(frozen=True)
class Param:
    """A whole-number parameter of a mode (workers, threads, ...), with its bounds."""

    name: str
    title: str
    default: int
    minimum: int
    maximum: int

    def view(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "default": self.default,
            "min": self.minimum,
            "max": self.maximum,
        }


WORKERS = Param("workers", "worker processes", 2, 1, 16)
THREADS = Param("threads", "threads per worker", 4, 1, 64)


@dataclass(frozen=True)
class LawCase:
    """A burst a mode is measured with, and what the queueing law predicts for it: `count`
    concurrent `/io?ms=ms` requests on `capacity` slots (None: a task per request) keep
    `peak_busy` of them in service at once and take `makespan_ms`, ceil(n / c) · s."""

    params: Mapping[str, int]
    count: int
    ms: int
    capacity: int | None  # stated, not computed, so the law test also checks `Mode.capacity`
    note: str = ""
    # False where the law's tight bound is not promised (the note says why): bench.modes measures
    # the case and the law test leaves it out.
    tested: bool = True

    @property
    def peak_busy(self) -> int:
        return self.count if self.capacity is None else min(self.count, self.capacity)

    @property
    def makespan_ms(self) -> int:
        return math.ceil(self.count / self.peak_busy) * self.ms

    def label(self) -> str:
        """The parameters as a reader would say them: "workers 1, threads 4"."""
        return ", ".join(f"{k} {v}" for k, v in self.params.items()) or "defaults"


class BadServerRequest(ValueError):
    """A mode or parameter the manager cannot use; the message is shown to the user."""


class Mode:
    """A server the workload can run under. Subclasses fill in the class attributes and methods;
    the registry takes every subclass with a `name` defined in a module of its package."""

    name: str
    # Where the page lists the mode (lowest first); the registry sorts by it.
    order: int
    title: str
    sentence: str
    # How capacity follows from the parameters, in words the page can show ("workers × threads").
    capacity_formula: str
    # What the server runs a request on: "thread", "greenlet" or "asyncio" (protocol TASK_KINDS).
    task_kind: str = "thread"
    # What one task is under this server, said plainly for the page.
    task: str
    params: tuple[Param, ...] = ()
    # The bursts tests/test_modes.py and bench.modes fire at it: at least one `tested`, larger
    # than its capacity, so that some requests must queue.
    law_cases: tuple[LawCase, ...] = ()
    # Why the mode cannot run on a Python other than the project's (run.py --python, issue 20);
    # None: it can (its command starts with `python_module`).
    other_python: str | None = None
    # Whether, on a free-threaded Python, the server runs its workers as threads of one process
    # (Granian's MTServer) rather than as processes: one process to wait for, holding every slot.
    workers_as_threads_without_gil: bool = False
    # Pinned packages the mode needs beyond requirements.txt (`make run`'s), installed the first
    # time it is chosen (`prepare`); None: it needs none.
    extra: Extra | None = None

    def validate(self, given: dict) -> dict[str, int]:
        """Every parameter as a whole number within bounds (defaults for the missing ones)."""
        known = {p.name for p in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise BadServerRequest(
                f"mode {self.name} has no parameter {unknown[0]!r}; it takes {sorted(known)}"
            )
        values = {}
        for param in self.params:
            value = given.get(param.name, param.default)
            if type(value) is not int:
                raise BadServerRequest(f"{param.name} must be a whole number, got {value!r}"[:200])
            if not param.minimum <= value <= param.maximum:
                raise BadServerRequest(
                    f"{param.name} must be from {param.minimum} to {param.maximum}, got {value}"
                )
            values[param.name] = value
        return values

    def missing(self) -> str | None:
        """What this machine lacks to run the mode, said so the user can act; None when ready."""
        return None

    def startable(self, given: dict) -> dict[str, int]:
        """`validate`, then refuse a mode this machine cannot run: before anything changes."""
        values = self.validate(given)
        lacking = self.missing()
        if lacking:
            raise BadServerRequest(f"{self.name} cannot start: {lacking}")
        return values

    def prepare(self, say: Callable[[str], None] = print) -> None:
        """Install the mode's `extra` if it is not yet (waiting for an install under way), before
        anything changes; BadServerRequest when that fails, the mode left not installed."""
        if self.extra is None:
            return
        try:
            self.extra.install(say)
        except BuildFailed as exc:
            raise BadServerRequest(f"{self.name} cannot start: {exc}") from None

    def capacity(self, params: dict[str, int]) -> int | None:
        """How many requests the server serves at once; None when unbounded."""
        raise NotImplementedError

    def slots_per_process(self, params: dict[str, int]) -> int | None:
        """How many tiles each worker process draws before any request."""
        raise NotImplementedError

    def tree_size(self, params: dict[str, int]) -> int:
        """How many processes the server's tree has once it is up: a master and its `workers`,
        or one process for a mode without workers."""
        return params["workers"] + 1 if "workers" in params else 1

    def processes_up(self, params: dict[str, int], gil_off: bool) -> int:
        """The processes of its tree once it is up, on a Python whose GIL is on or off."""
        return 1 if gil_off and self.workers_as_threads_without_gil else self.tree_size(params)

    def slots_up(self, params: dict[str, int], gil_off: bool) -> int | None:
        """The tiles each of those processes draws before any request."""
        if gil_off and self.workers_as_threads_without_gil:
            return self.capacity(params)
        return self.slots_per_process(params)

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        """The argv that starts the server in the foreground, bound to host:port."""
        raise NotImplementedError

    def view(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "sentence": self.sentence,
            "params": [p.view() for p in self.params],
            "capacity_formula": self.capacity_formula,
            "capacity_default": self.capacity({p.name: p.default for p in self.params}),
            "task_kind": self.task_kind,
            "task": self.task,
            "other_python": self.other_python,
            "install": self.extra.note() if self.extra is not None else None,
        }


class WorkersTimesThreads(Mode):
    """A pre-forking server whose every worker process runs a pool of threads."""

    capacity_formula = "workers × threads"
    params = (WORKERS, THREADS)

    def capacity(self, params: dict[str, int]) -> int:
        return params["workers"] * params["threads"]

    def slots_per_process(self, params: dict[str, int]) -> int:
        return params["threads"]


def listen_backlog() -> int:
    """LISTEN_BACKLOG as the kernel grants it: it caps a listen queue at somaxconn (and uWSGI
    refuses to start when asked for more)."""
    try:
        return min(LISTEN_BACKLOG, int(Path("/proc/sys/net/core/somaxconn").read_text()))
    except (OSError, ValueError):
        return 128


def python_module(*args: str) -> list[str]:
    """argv running a module with this interpreter (the project's virtual environment)."""
    return [sys.executable, "-m", *args]
