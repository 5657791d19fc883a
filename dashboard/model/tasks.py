"""The model's nouns: a workload process, its tasks (threads, green threads, asyncio tasks), the
request a task serves, and what /proc says of a process at one instant."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from threadpulse_agent.protocol import Python

TASK_KEY_SEPARATOR = ":"  # the page gets it in its bootstrap data to build and split keys
ProcessKey = tuple[str, int]  # (host, pid): every container's first process is pid 1


def task_key(process: int | str, task_id: int) -> str:
    """How frames, spans and the page name a task: its id is unique only within its process, named
    as `Process.name` does (a pid, or PID@HOST on another host). The page splits it at the last
    separator: a host's name is the agent's to choose."""
    return f"{process}{TASK_KEY_SEPARATOR}{task_id}"


def process_name(host: str, pid: int, local: bool) -> str:
    """How the page and the API name a process: its pid on the dashboard's own host (as before
    there were hosts, so one host's page and old recordings read as they did), PID@HOST elsewhere."""
    return str(pid) if local else f"{pid}@{host}"


@dataclass(frozen=True, slots=True)  # slots: a replay holds one per process per sample
class ProcessSample:
    """What /proc says of one process at one instant: its CPU, and per thread (CPU, run queue)."""

    cpu_ns: int
    threads: dict[int, tuple[int, int]]


@dataclass
class Request:
    id: str  # PID-N, as the page and the API name it
    number: int  # N, as the agent's `end` event names it
    path: str
    started_ns: int
    route: str  # what kind of request: the app's rule (known at its end) or its normalised path
    run: str | None = None
    index: int = -1


@dataclass
class TaskState:
    """One task as the page draws it."""

    id: int
    name: str
    kind: str
    native_id: int
    state: str = "idle"
    why: str | None = None  # for starved: "gil" or "core" (classify.py), "hub" (a stall event)
    phase: str | None = None  # what the request's code declared: "cpu" or "io"
    since_ns: int = 0  # when the request or its phase began: the part of a window that is judged
    request: Request | None = None
    cpu: deque[tuple[int, int, int]] = field(default_factory=lambda: deque(maxlen=16))  # t, cpu, runq
    cpu_pct: float = 0.0
    state_ms: dict[str, float] = field(default_factory=dict)  # time in each state, all told
    history: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=40))
    stack: str | None = None
    gone_ns: int | None = None
    lost: Request | None = None  # the request it held when it went: failed, unless its End comes

    def set_state(self, state: str, why: str | None, now_ns: int) -> None:
        if (state, why) != (self.state, self.why):
            self.history.append((round(now_ns / 1e6, 1), state if why is None else f"{state}:{why}"))
        self.state, self.why = state, why


@dataclass
class Process:
    """One workload process, as its agent reports it; known by (host, pid) (`key`)."""

    pid: int
    host: str
    mode: str
    name: str = ""  # process_name: the pid (the default: this host's) or PID@HOST
    server: str = ""  # the id of its server (`src.server`); until the agent says, HOST:PID
    python: Python | None = None  # its interpreter (`src.python`), once the agent says
    tasks: dict[int, TaskState] = field(default_factory=dict)
    last_seq: int = -1
    lost: int = 0
    dropped: int = 0
    queue: int | None = None  # accepted requests waiting inside the worker for a thread
    cpu: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=16))
    cpu_pct: float = 0.0
    sampling_cost_pct: float | None = None  # the agent's stack sampling, percent of a core
    stalled_by: int | None = None  # the green thread / asyncio task blocking the hub, if one is
    stalled_ns: int | None = None  # since when
    stalled_runs: set[str] = field(default_factory=set)  # runs with a request held up by it
    gone_ns: int | None = None

    def __post_init__(self) -> None:
        self.name = self.name or str(self.pid)

    @property
    def key(self) -> ProcessKey:
        return (self.host, self.pid)

    @property
    def gil(self) -> bool:
        """Whether the process has a GIL: every Python but a free-threaded one that says so."""
        return self.python is None or self.python.gil

    @property
    def status(self) -> str:
        return "alive" if self.gone_ns is None else "gone"
