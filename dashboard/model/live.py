"""The live model: processes, their tasks, requests in service, runs and counters.

Pure: it is fed decoded datagrams and CPU readings with the time they apply to, and does no I/O,
so it is tested without a socket or a server. The collector is its one writer.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

from dashboard.loadspec.plan import Plan
from dashboard.model.cpu import judge_cpu
from dashboard.model.history import Series, Spans
from dashboard.model.routes import RouteBook
from dashboard.model.runs import Run
from dashboard.model.sustained_run import SustainedRun
from dashboard.model.tasks import Process, ProcessSample, Request, TaskState, task_key
from dashboard.model.verdict import Prediction
from threadpulse_agent.protocol import (
    MAX_ROSTER,
    Begin,
    Datagram,
    End,
    Phase,
    Queue,
    Reply,
    RunEnd,
    Sampling,
    Sent,
    Server,
    Stack,
    Stall,
    StallEnd,
    Task,
    parse_tag,
    request_name,
)

log = logging.getLogger(__name__)

GONE_KEPT_NS = 5_000_000_000  # a gone process or task stays on the page this long
MAX_RUNS = 50
MAX_TASKS_PER_PROCESS = 1_024
MAX_PROCESSES = 256  # sources beyond this are refused, so junk datagrams cannot grow the model
UNATTRIBUTED = "(unattributed)"  # the tally of failures no server was seen taking
MAX_IGNORED_PIDS = 1_024  # retired servers remembered; their stragglers arrive within seconds


class Model:
    """What the dashboard knows, built only from the events it is fed."""

    def __init__(self) -> None:
        self.server: dict = {"mode": None, "status": "stopped", "capacity": 0, "pids": []}
        self.slots_per_process: int | None = None
        self.processes: dict[int, Process] = {}
        # Processes of retired servers, whose last datagrams may still come (oldest first).
        self.ignored_pids: OrderedDict[int, None] = OrderedDict()
        self.runs: OrderedDict[str, Run | SustainedRun] = OrderedDict()
        # Per server id: its shape as its agent reported it, and its requests done and failed (the
        # totals are their sum; UNATTRIBUTED holds failures no server was seen taking).
        self.shapes: dict[str, Server] = {}
        self.tallies: dict[str, dict[str, int]] = {}
        # Servers the dashboard launched or attached to: (their pids, their base URL or None).
        self.launched: dict[str, tuple[frozenset[int], str | None]] = {}
        self.rejected: dict[str, int] = {}
        self.kernel_drops: int | None = None  # datagrams the kernel dropped on the collector's socket
        self.loadgen_seqs: OrderedDict[int, int] = OrderedDict()  # last seq per load generator pid
        self.backlog: int | None = None  # connections in the kernel's accept queue
        self.spans = Spans()
        self.series = Series()
        self.routes = RouteBook()  # per server and route: statuses, queue-wait and service histograms
        # The scene fired last: id, title, caption, index, count and its run (see dashboard/scenes).
        self.scene: dict | None = None

    # -- server -------------------------------------------------------------------------------

    def set_server(self, info: dict, slots_per_process: int | None, retired_pids: list[int] = ()) -> None:
        """A new server (or a new status of it). Processes of a retired server leave the page, and a
        server that is starting counts its requests done and failed from zero."""
        self.server = info
        self.slots_per_process = slots_per_process
        retired_servers = {self.processes[pid].server for pid in retired_pids if pid in self.processes}
        for pid in retired_pids:
            self.ignored_pids[pid] = None
            self.processes.pop(pid, None)
        for server_id in retired_servers:
            self.shapes.pop(server_id, None)
            self.tallies.pop(server_id, None)
            self.routes.forget(server_id)
        if info.get("status") == "starting":  # the totals count from zero for the new server
            self.tallies.pop(UNATTRIBUTED, None)
        while len(self.ignored_pids) > MAX_IGNORED_PIDS:
            self.ignored_pids.popitem(last=False)

    def set_launched(self, name: str, pids: list[int], url: str | None) -> None:
        """A server the dashboard launched from the user's command (or was told to attach to):
        the processes of its tree, and where load may go. Empty pids: it is gone."""
        if pids or url:
            self.launched[name] = (frozenset(pids), url)
        else:
            self.launched.pop(name, None)

    def run_server(self, run: Run) -> str | None:
        """The server a run's requests went to, as far as one of them was seen taken by a task."""
        for pid in run.worker.values():
            process = self.processes.get(pid)
            if process is not None:
                return process.server
        return None

    @property
    def done(self) -> int:
        """Requests done, all servers told (the sum of their tallies, never kept beside them)."""
        return sum(tally["done"] for tally in self.tallies.values())

    @property
    def failed(self) -> int:
        return sum(tally["failed"] for tally in self.tallies.values())

    def _count(self, process: Process, ok: bool) -> None:
        """One request of `process` finished: its server's tally."""
        tally = self.tallies.setdefault(process.server, {"done": 0, "failed": 0})
        tally["done" if ok else "failed"] += 1

    # -- runs ---------------------------------------------------------------------------------

    def add_run(self, run_id: str, endpoint: str, count: int, ms: int, target: str | None = None) -> None:
        """A burst the dashboard is about to fire at server `target`; its events will fill it in."""
        server = {key: self.server.get(key) for key in ("mode", "params", "capacity")}
        self._keep_run(Run(run_id, endpoint, count, ms, server=server, target=target))

    def add_sustained(self, run_id: str, plan: Plan, start_ns: int, target: str, managed: bool) -> None:
        """Sustained load the dashboard is about to start at `target` (its schedule from `start_ns`);
        sent to the managed server, the run keeps that server's mode and sizes."""
        server = {key: self.server.get(key) for key in ("mode", "params", "capacity")} if managed else {}
        self._keep_run(SustainedRun(run_id, plan, start_ns, target, server))

    def _keep_run(self, run: Run | SustainedRun) -> None:
        self.runs[run.id] = run
        while len(self.runs) > MAX_RUNS:
            self.runs.popitem(last=False)

    def play_scene(self, scene: dict, run_id: str, predicted: Prediction, workers: int) -> None:
        """A scene fired `run_id`: the run is judged against `predicted` when it ends."""
        self.scene = {**scene, "run": run_id}
        run = self.runs.get(run_id)
        if run is not None:
            run.scene, run.title = scene["id"], scene.get("title")
            run.predicted, run.workers = predicted, workers

    def end_run(self, run_id: str, t_ns: int, reason: str) -> None:
        """The load generator exited: a run it did not close ends here, with the reason."""
        run = self.runs.get(run_id)
        if run is not None:
            run.finish(t_ns, reason)

    def active_runs(self, now_ns: int) -> list[Run | SustainedRun]:
        return [run for run in self.runs.values() if run.state(now_ns) == "running"]

    # -- datagrams ----------------------------------------------------------------------------

    def reject(self, reason: str, count: int = 1) -> None:
        """Count what the collector could not use, by reason (shown on the page): a whole datagram
        (`not_json`, `replayed`, ...), or one event (`bad_event`), roster entry (`bad_task`) or tag
        (`bad_tag`) dropped alone."""
        if count:
            self.rejected[reason] = self.rejected.get(reason, 0) + count

    def apply(self, datagram: Datagram, now_ns: int) -> None:
        """Fold one decoded datagram into the model."""
        self.reject("bad_event", datagram.bad_events)
        self.reject("bad_task", datagram.bad_tasks)
        if datagram.source.role == "loadgen":
            last = self.loadgen_seqs.pop(datagram.source.pid, -1)
            self.loadgen_seqs[datagram.source.pid] = max(last, datagram.seq)
            if len(self.loadgen_seqs) > MAX_RUNS:
                self.loadgen_seqs.popitem(last=False)
            if datagram.seq <= last:
                self.reject("replayed")
                return
            self._fold_each(datagram.events, self._apply_loadgen_event)
            return
        pid = datagram.source.pid
        if pid in self.ignored_pids:
            return
        process = self.processes.get(pid)
        if process is None:
            if len(self.processes) >= MAX_PROCESSES and not self._evict_gone():
                self.reject("too_many_sources")
                return
            process = self.processes[pid] = Process(pid, datagram.source.host, datagram.source.mode)
            process.server = f"{process.host}:{pid}"
        elif process.gone_ns is not None:
            return
        if datagram.seq <= process.last_seq:
            self.reject("replayed")
            return
        if process.last_seq >= 0:
            process.lost += datagram.seq - process.last_seq - 1
        process.last_seq = datagram.seq
        process.dropped = datagram.dropped
        shape = datagram.source.server
        if shape is not None and (shape.id in self.shapes or len(self.shapes) < MAX_PROCESSES):
            self.shapes[shape.id] = shape
            if process.server != shape.id:  # what it counted before its server was known moves along
                early = self.tallies.pop(process.server, None)
                process.server = shape.id
                tally = self.tallies.setdefault(shape.id, {"done": 0, "failed": 0})
                for name, value in (early or {}).items():
                    tally[name] += value
        if datagram.tasks is not None:
            self._apply_roster(process, datagram.tasks, now_ns, complete=datagram.bad_tasks == 0)
        self._fold_each(datagram.events, lambda event: self._apply_event(process, event))

    def _evict_gone(self) -> bool:
        """Make room for a new source by forgetting the process gone longest, if any: a flood of
        datagrams from made-up pids (gone at the next /proc sample) must not lock real servers out."""
        gone = [p for p in self.processes.values() if p.gone_ns is not None]
        if not gone:
            return False
        del self.processes[min(gone, key=lambda p: p.gone_ns).pid]
        return True

    def _fold_each(self, events: tuple[tuple, ...], fold: Callable[[tuple], None]) -> None:
        """Fold events one at a time: one that the checks did not foresee (and raises) is counted
        as `failed_event` and costs its neighbours nothing."""
        for event in events:
            try:
                fold(event)
            except Exception:
                log.exception("model: an event failed: %.200r", event)
                self.reject("failed_event")

    def _apply_event(self, process: Process, event: tuple) -> None:
        match event:
            case Begin():
                self._begin(process, event)
            case End():
                self._end(process, event)
            case Phase():
                task = process.tasks.get(event.task)
                if task is not None and task.request is not None:
                    self._phase(process, task, event.t_ns, event.phase)
            case Stack():
                task = process.tasks.get(event.task)
                if task is not None:
                    task.stack = event.frames
            case Queue():
                process.queue = event.depth
            case Sampling() if event.interval_ms > 0:
                process.sampling_cost_pct = round(event.cost_ns / 1e9 * 100, 3)
            case Stall():
                self._stall(process, event.task, event.t_ns)
            case StallEnd():
                self._stall_end(process, event.t_ns)

    def _apply_roster(self, process: Process, roster: tuple[Task, ...], now_ns: int, complete: bool) -> None:
        listed = {task.id for task in roster}
        for task in roster:
            known = process.tasks.get(task.id)
            if known is None and len(process.tasks) < MAX_TASKS_PER_PROCESS:
                process.tasks[task.id] = TaskState(task.id, task.name, task.kind, task.native_id)
            elif known is not None and known.name == _provisional(task.id):
                known.name, known.kind, known.native_id = task.name, task.kind, task.native_id
        if len(roster) >= MAX_ROSTER or not complete:
            return  # a roster cut short, or missing a bad entry: a task it leaves out may be alive
        for task in process.tasks.values():
            if task.id not in listed and task.gone_ns is None:
                self._task_gone(process, task, now_ns)

    def _task(self, process: Process, task_id: int) -> TaskState | None:
        task = process.tasks.get(task_id)
        if task is None and len(process.tasks) < MAX_TASKS_PER_PROCESS:
            # Its roster entry is on its way; draw it now under a provisional name, and of the
            # kind its process's other tasks are (one server runs every request on one kind).
            kind = next(iter(process.tasks.values())).kind if process.tasks else "thread"
            task = process.tasks[task_id] = TaskState(task_id, _provisional(task_id), kind, task_id)
        return task

    def _begin(self, process: Process, begin: Begin) -> None:
        task = self._task(process, begin.task)
        tagged = parse_tag(begin.tag)
        if begin.tag is not None and tagged is None:
            self.reject("bad_tag")  # the request is still drawn and counted, just not in a run
        name = request_name(process.pid, begin.request)
        route = self.routes.guess(process.server, begin.path)
        request = Request(name, begin.request, begin.path, begin.t_ns, route)
        if tagged is not None:
            request.run, request.index, sent_ns = tagged
            run = self.runs.get(request.run)
            if run is not None:
                run.record_begin(request.index, begin.t_ns, sent_ns, process.pid)
        if task is not None:
            task.request = request
            task.phase, task.since_ns = None, begin.t_ns
            task.stack = None
            task.set_state("running", None, begin.t_ns)

    def _end(self, process: Process, end: End) -> None:
        t_ns, status = end.t_ns, end.status
        ok = status.isdigit() and 200 <= int(status) < 400
        self._count(process, ok)
        task = process.tasks.get(end.task)
        if task is None or task.request is None or task.request.number != end.request:
            self.routes.end(process.server, None, end.route, status, None, None)
            return
        request = task.request
        sent_ns = None
        if request.run is not None and request.run in self.runs:
            run = self.runs[request.run]
            run.record_end(request.index, t_ns)
            sent_ns = run.sent.get(request.index)
        wait_ms = None if sent_ns is None else (request.started_ns - sent_ns) / 1e6
        service_ms = (t_ns - request.started_ns) / 1e6
        wait_s = None if wait_ms is None else wait_ms / 1e3
        route = self.routes.end(process.server, request.path, end.route, status, wait_s, service_ms / 1e3)
        self.series.record_end(ok, wait_ms, service_ms, route)
        key = task_key(process.pid, task.id)
        self.spans.add(key, request.started_ns, t_ns, sent_ns, request.path, status, route)
        task.request = None
        task.stack = None
        if task.gone_ns is None:
            task.set_state("idle", None, t_ns)

    def _phase(self, process: Process, task: TaskState, t_ns: int, phase: str) -> None:
        """The endpoint declared what its request does now. An OS thread's state is then judged
        from /proc; a green thread or asyncio task has no thread of its own to read, but the
        one that is in the hub's way is known (`stall`): any other one doing I/O is suspended,
        so waiting, and one that starts computing holds the hub, so running."""
        task.phase, task.since_ns = phase, t_ns
        if task.kind == "thread" or process.stalled_by not in (None, task.id):
            return
        task.set_state("running" if phase == "cpu" else "waiting", None, t_ns)

    def _stall(self, process: Process, task_id: int, t_ns: int) -> None:
        """One green thread / asyncio task holds the hub: every other request of the process starves."""
        process.stalled_by = task_id
        if process.stalled_ns is None:
            process.stalled_ns = t_ns
        for task in process.tasks.values():
            if task.request is not None and task.gone_ns is None:
                if task.request.run is not None:
                    process.stalled_runs.add(task.request.run)
                if task.id == task_id:
                    task.set_state("running", None, t_ns)
                else:
                    task.set_state("starved", "hub", t_ns)

    def _stall_end(self, process: Process, t_ns: int) -> None:
        """The hub runs again: each run that had a request in the process then was held up that long
        (the stalling request itself has often ended by now)."""
        self._credit_stall(process, t_ns)
        process.stalled_by = process.stalled_ns = None
        process.stalled_runs.clear()
        for task in process.tasks.values():
            if task.request is not None and (task.state, task.why) == ("starved", "hub"):
                task.set_state("waiting", None, t_ns)

    def _credit_stall(self, process: Process, t_ns: int) -> None:
        """Add the stall so far to the runs it holds up; the rest of it counts from `t_ns` on."""
        if process.stalled_ns is None:
            return
        held_ms = max(0, t_ns - process.stalled_ns) / 1e6
        for run_id in process.stalled_runs:
            if run_id in self.runs:
                self.runs[run_id].hub_blocked_ms += held_ms
        process.stalled_ns = max(process.stalled_ns, t_ns)

    def _apply_loadgen_event(self, event: tuple) -> None:
        run = self.runs.get(event.run) if isinstance(event, (Sent, Reply, RunEnd)) else None
        if run is None:
            return
        match event:
            case Sent():
                run.record_sent(event.index, event.t_ns)
            case Reply():
                run.record_reply(event.index, event.t_ns, event.status)
                if event.index not in run.begun and not 200 <= event.status < 400:
                    # Refused before any task took it: the run's server's, if the run found one.
                    server = self.run_server(run) or UNATTRIBUTED
                    self.tallies.setdefault(server, {"done": 0, "failed": 0})["failed"] += 1
            case RunEnd():
                run.finish(event.t_ns, event.reason)
                for process in self.processes.values():  # a stall still on counts till now
                    if run.id in process.stalled_runs:
                        self._credit_stall(process, event.t_ns)
                        process.stalled_runs.discard(run.id)

    # -- the OS's view ------------------------------------------------------------------------

    def apply_cpu(self, pid: int, sample: ProcessSample | None, now_ns: int) -> None:
        """CPU times read from /proc for one process; None: the process is gone."""
        process = self.processes.get(pid)
        if process is None or process.gone_ns is not None:
            return
        if sample is None:
            self._process_gone(process, now_ns)
            return
        judge_cpu(process, sample, now_ns, self.runs)

    def tick(self, now_ns: int, backlog: int | None) -> None:
        """Once per sampling round: the accept queue, the per-second series, expiry."""
        self.backlog = backlog
        counters = self.counters(now_ns)
        self.series.observe(counters["in_service"], counters["queued"])
        self.series.roll(now_ns, self.server.get("capacity"), self.cpu_by_process())
        self.expire(now_ns)

    def cpu_by_process(self) -> dict[str, float]:
        """Percent of a core per live process, as a point of the series holds it."""
        return {str(p.pid): round(p.cpu_pct, 1) for p in self.processes.values() if p.gone_ns is None}

    def _process_gone(self, process: Process, now_ns: int) -> None:
        process.gone_ns = now_ns
        for task in process.tasks.values():
            self._task_gone(process, task, now_ns)

    def _task_gone(self, process: Process, task: TaskState, now_ns: int) -> None:
        if task.request is not None:
            self._count(process, False)
            run = self.runs.get(task.request.run)
            if run is not None:  # the slot it held is free from now: it no longer counts as busy
                run.record_end(task.request.index, now_ns)
            task.request = None
        task.set_state("gone", None, now_ns)
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


def _provisional(task_id: int) -> str:
    return f"task {task_id}"
