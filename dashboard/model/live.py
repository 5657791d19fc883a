"""The live model: processes, their tasks, requests in service, runs and counters.

Pure: it is fed decoded datagrams and CPU readings with the time they apply to, and does no I/O,
so it is tested without a socket or a server. The collector is its one writer.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from dashboard.model.runs import Run
from workload.agent.protocol import Datagram, Task, parse_tag

GONE_KEPT_NS = 5_000_000_000  # a gone process or task stays on the page this long
CPU_WINDOW_NS = 1_000_000_000  # cpu_pct is the share of one core over this window
RUNNING_SHARE = 0.10  # a task in a request using at least this share of a core is running
MAX_RUNS = 50
MAX_TASKS_PER_PROCESS = 1_024


@dataclass
class Request:
    id: str
    path: str
    started_ns: int
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
    request: Request | None = None
    cpu: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=16))
    cpu_pct: float = 0.0
    gone_ns: int | None = None


@dataclass
class Process:
    """One workload process, as its agent reports it."""

    pid: int
    host: str
    mode: str
    tasks: dict[int, TaskState] = field(default_factory=dict)
    last_seq: int = -1
    lost: int = 0
    dropped: int = 0
    gone_ns: int | None = None

    @property
    def status(self) -> str:
        return "alive" if self.gone_ns is None else "gone"


class Model:
    """What the dashboard knows, built only from the events it is fed."""

    def __init__(self) -> None:
        self.server: dict = {"mode": None, "status": "stopped", "capacity": 0, "pids": []}
        self.slots_per_process: int | None = None
        self.processes: dict[int, Process] = {}
        self.ignored_pids: set[int] = set()
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.done = 0
        self.failed = 0
        self.rejected: dict[str, int] = {}

    # -- server -------------------------------------------------------------------------------

    def set_server(self, info: dict, slots_per_process: int | None, retired_pids: list[int] = ()) -> None:
        """A new server (or a new status of it). Processes of a retired server leave the page."""
        self.server = info
        self.slots_per_process = slots_per_process
        for pid in retired_pids:
            self.ignored_pids.add(pid)
            self.processes.pop(pid, None)

    # -- runs ---------------------------------------------------------------------------------

    def add_run(self, run_id: str, endpoint: str, count: int, ms: int) -> None:
        """A burst the dashboard is about to fire; its events will fill it in."""
        self.runs[run_id] = Run(run_id, endpoint, count, ms)
        while len(self.runs) > MAX_RUNS:
            self.runs.popitem(last=False)

    def end_run(self, run_id: str, t_ns: int, reason: str) -> None:
        """The load generator exited: a run it did not close ends here, with the reason."""
        run = self.runs.get(run_id)
        if run is not None:
            run.finish(t_ns, reason)

    def active_runs(self, now_ns: int) -> list[Run]:
        return [run for run in self.runs.values() if run.state(now_ns) == "running"]

    # -- datagrams ----------------------------------------------------------------------------

    def reject(self, reason: str) -> None:
        """Count a datagram the collector could not use, by reason (shown on the page)."""
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def apply(self, datagram: Datagram, now_ns: int) -> None:
        """Fold one decoded datagram into the model."""
        if datagram.source.role == "loadgen":
            self._apply_loadgen(datagram)
            return
        pid = datagram.source.pid
        if pid in self.ignored_pids:
            return
        process = self.processes.get(pid)
        if process is None:
            process = self.processes[pid] = Process(pid, datagram.source.host, datagram.source.mode)
        elif process.gone_ns is not None:
            return
        if datagram.seq <= process.last_seq:
            self.reject("replayed")
            return
        if process.last_seq >= 0:
            process.lost += datagram.seq - process.last_seq - 1
        process.last_seq = datagram.seq
        process.dropped = datagram.dropped
        if datagram.tasks is not None:
            self._apply_roster(process, datagram.tasks, now_ns)
        for event in datagram.events:
            if event[0] == "begin":
                self._begin(process, *event[1:])
            elif event[0] == "end":
                self._end(process, *event[1:])

    def _apply_roster(self, process: Process, roster: tuple[Task, ...], now_ns: int) -> None:
        listed = {task.id for task in roster}
        for task in roster:
            if task.id not in process.tasks and len(process.tasks) < MAX_TASKS_PER_PROCESS:
                process.tasks[task.id] = TaskState(task.id, task.name, task.kind, task.native_id)
        for task in process.tasks.values():
            if task.id not in listed and task.gone_ns is None:
                self._task_gone(task, now_ns)

    def _task(self, process: Process, task_id: int) -> TaskState | None:
        task = process.tasks.get(task_id)
        if task is None and len(process.tasks) < MAX_TASKS_PER_PROCESS:
            # Its roster entry is on its way; draw it now under a provisional name.
            task = process.tasks[task_id] = TaskState(task_id, f"task {task_id}", "thread", task_id)
        return task

    def _begin(
        self, process: Process, task_id: int, t_ns: int, request_id: str, method: str, path: str, tag
    ) -> None:
        task = self._task(process, task_id)
        tagged = parse_tag(tag)
        request = Request(request_id, path, t_ns)
        if tagged is not None:
            request.run, request.index, sent_ns = tagged
            run = self.runs.get(request.run)
            if run is not None:
                run.record_begin(request.index, t_ns, sent_ns)
        if task is not None:
            task.request = request
            task.state = "running"

    def _end(self, process: Process, task_id: int, t_ns: int, request_id: str, status: str) -> None:
        if status.isdigit() and 200 <= int(status) < 400:
            self.done += 1
        else:
            self.failed += 1
        task = process.tasks.get(task_id)
        if task is None or task.request is None or task.request.id != request_id:
            return
        if task.request.run is not None and task.request.run in self.runs:
            self.runs[task.request.run].record_end(task.request.index, t_ns)
        task.request = None
        if task.gone_ns is None:
            task.state = "idle"

    def _apply_loadgen(self, datagram: Datagram) -> None:
        for event in datagram.events:
            run = self.runs.get(event[1])
            if run is None:
                continue
            name = event[0]
            if name == "sent":
                run.record_sent(event[2], event[3])
            elif name == "reply":
                run.record_reply(event[2], event[3], event[4])
                if event[2] not in run.begun and not 200 <= event[4] < 400:
                    self.failed += 1
            elif name == "run_end":
                run.finish(event[2], event[3])

    # -- the OS's view ------------------------------------------------------------------------

    def apply_cpu(self, pid: int, readings: dict[int, int] | None, now_ns: int) -> None:
        """Per-thread CPU time (ns, by native id) read from /proc; None: the process is gone."""
        process = self.processes.get(pid)
        if process is None or process.gone_ns is not None:
            return
        if readings is None:
            self._process_gone(process, now_ns)
            return
        for task in process.tasks.values():
            cpu_ns = readings.get(task.native_id)
            if cpu_ns is None or task.kind != "thread":
                continue
            task.cpu.append((now_ns, cpu_ns))
            task.cpu_pct = _share(task.cpu, now_ns - CPU_WINDOW_NS) * 100
            if task.request is not None:
                recent = _share(task.cpu, task.cpu[-2][0] if len(task.cpu) > 1 else now_ns)
                task.state = "running" if recent >= RUNNING_SHARE else "waiting"

    def _process_gone(self, process: Process, now_ns: int) -> None:
        process.gone_ns = now_ns
        for task in process.tasks.values():
            self._task_gone(task, now_ns)

    def _task_gone(self, task: TaskState, now_ns: int) -> None:
        if task.request is not None:
            self.failed += 1
            task.request = None
        task.state = "gone"
        task.gone_ns = now_ns

    def expire(self, now_ns: int) -> None:
        """Forget processes and tasks that have been gone long enough to have been seen going."""
        for pid, process in list(self.processes.items()):
            if process.gone_ns is not None and now_ns - process.gone_ns > GONE_KEPT_NS:
                del self.processes[pid]
                continue
            for task_id, task in list(process.tasks.items()):
                if task.gone_ns is not None and now_ns - task.gone_ns > GONE_KEPT_NS:
                    del process.tasks[task_id]

    # -- figures ------------------------------------------------------------------------------

    def counters(self, now_ns: int) -> dict[str, int]:
        in_service = sum(
            1 for p in self.processes.values() for t in p.tasks.values() if t.request is not None
        )
        return {
            "queued": sum(run.queued() for run in self.active_runs(now_ns)),
            "in_service": in_service,
            "done": self.done,
            "failed": self.failed,
        }


def _share(samples: deque[tuple[int, int]], since_ns: int) -> float:
    """CPU time over wall time from the oldest sample at or after `since_ns` to the newest."""
    newest_t, newest_cpu = samples[-1]
    for t, cpu in samples:
        if t >= since_ns and t < newest_t:
            return max(0.0, (newest_cpu - cpu) / (newest_t - t))
    return 0.0
