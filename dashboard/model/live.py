"""The live model: what the dashboard knows, a thin composition of units with one job each.

Pure: it is fed decoded datagrams and CPU readings with the time they apply to, and does no I/O,
so it is tested without a socket or a server. Every event reaches it through `Store.apply` ->
`fold` (events.py); it hands each to the unit that owns that job: admission of datagrams
(sources.py), a request's life (request_life.py), hub stalls (stalls.py), the runs
(run_book.py), the tallies the totals are summed from (tallies.py), CPU judging (cpu.py) and
expiry (expiry.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from dashboard.loadspec.plan import Plan
from dashboard.model.clocks import Clocks
from dashboard.model.cpu import judge_cpu
from dashboard.model.expiry import expire
from dashboard.model.headers import SceneHeader, ServerInfo
from dashboard.model.history import Series, Spans
from dashboard.model.remote_cpu import readings
from dashboard.model.request_life import RequestLife
from dashboard.model.routes import RouteBook
from dashboard.model.run_book import LoadRun, RunBook
from dashboard.model.runs import Run
from dashboard.model.sources import Sources
from dashboard.model.stalls import run_ended, stall, stall_end
from dashboard.model.sustained_run import SustainedRun
from dashboard.model.tallies import UNATTRIBUTED, Tallies
from dashboard.model.tasks import Process, ProcessKey, ProcessSample
from dashboard.model.verdict import Prediction
from threadpulse_agent.protocol import (
    Begin,
    Datagram,
    End,
    Event,
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
)
from threadpulse_agent.reporter import this_host

log = logging.getLogger(__name__)

E = TypeVar("E")


class Model:
    """What the dashboard knows, built only from the events it is fed."""

    def __init__(self, host: str | None = None) -> None:
        """`host`: the dashboard's own host, as its agents name it (a replay's: the recording's)."""
        self.server: ServerInfo = {"mode": None, "status": "stopped", "capacity": 0, "pids": []}
        self.slots_per_process: int | None = None
        self.runs = RunBook()
        self.tallies = Tallies()  # done and failed per server id; the totals are their sum
        self.rejected: dict[str, int] = {}
        self.sources = Sources(self.tallies, self.reject, this_host() if host is None else host)
        self.clocks = Clocks(self.sources.host)  # each other host's clock's offset from this one
        # Servers the dashboard launched or attached to: (their pids, their base URL or None).
        self.launched: dict[str, tuple[frozenset[int], str | None]] = {}
        self.kernel_drops: int | None = None  # datagrams the kernel dropped on the collector's socket
        self.backlog: int | None = None  # connections in the kernel's accept queue
        self.spans = Spans()
        self.series = Series()
        self.routes = RouteBook()  # per server and route: statuses, queue-wait and service histograms
        self.requests = RequestLife(
            self.runs, self.tallies, self.routes, self.series, self.spans, self.reject
        )
        # The scene fired last: id, title, caption, index, count and its run (see dashboard/scenes).
        self.scene: dict | None = None

    @property
    def processes(self) -> dict[ProcessKey, Process]:
        return self.sources.processes

    @property
    def shapes(self) -> dict[str, Server]:
        return self.sources.shapes

    # -- servers ------------------------------------------------------------------------------

    def set_server(
        self, info: ServerInfo, slots_per_process: int | None, retired_pids: Iterable[int] = ()
    ) -> None:
        """A new server (or a new status of it). Processes of a retired server leave the page, and a
        server that is starting counts its requests done and failed from zero."""
        self.server = info
        self.slots_per_process = slots_per_process
        for server_id in self.sources.retire(retired_pids):
            self.tallies.pop(server_id, None)
            self.routes.forget(server_id)
        if info.get("status") == "starting":  # the totals count from zero for the new server
            self.tallies.pop(UNATTRIBUTED, None)

    def set_launched(self, name: str, pids: list[int], url: str | None) -> None:
        """A server the dashboard launched from the user's command (or was told to attach to):
        the processes of its tree, and where load may go. Empty pids: it is gone."""
        if pids or url:
            self.launched[name] = (frozenset(pids), url)
        else:
            self.launched.pop(name, None)

    def run_server(self, run: LoadRun) -> str | None:
        """The server a run's requests went to, as far as one of them was seen taken by a task."""
        for key in run.processes():
            process = self.processes.get(key)
            if process is not None:
                return process.server
        return None

    @property
    def done(self) -> int:
        """Requests done, all servers told (the sum of their tallies, never kept beside them)."""
        return self.tallies.done

    @property
    def failed(self) -> int:
        return self.tallies.failed

    # -- runs ---------------------------------------------------------------------------------

    def add_run(self, run_id: str, endpoint: str, count: int, ms: int, target: str | None = None) -> None:
        """A burst the dashboard is about to fire at server `target`; its events will fill it in."""
        self.runs.keep(Run(run_id, endpoint, count, ms, server=self._sizes(), target=target))

    def add_sustained(self, run_id: str, plan: Plan, start_ns: int, target: str, managed: bool) -> None:
        """Sustained load the dashboard is about to start at `target` (its schedule from `start_ns`);
        sent to the managed server, the run keeps that server's mode and sizes."""
        self.runs.keep(SustainedRun(run_id, plan, start_ns, target, self._sizes() if managed else {}))

    def _sizes(self) -> dict:
        """The managed server's mode and sizes, as a run keeps them for the results table."""
        return {key: self.server.get(key) for key in ("mode", "params", "capacity")}

    def play_scene(self, scene: SceneHeader, run_id: str, predicted: Prediction, workers: int) -> None:
        """A scene fired `run_id`: the run is judged against `predicted` when it ends."""
        self.scene = {**scene, "run": run_id}
        run = self.runs.get(run_id)
        if isinstance(run, Run):  # scenes fire bursts; sustained load has no verdict
            run.scene, run.title = scene["id"], scene.get("title")
            run.predicted, run.workers = predicted, workers

    def end_run(self, run_id: str, t_ns: int, reason: str) -> None:
        """The load generator exited: a run it did not close ends here, with the reason."""
        self.runs.finish(run_id, t_ns, reason)

    def active_runs(self, now_ns: int) -> list[LoadRun]:
        return self.runs.active(now_ns)

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
        datagram = self.clocks.aligned(datagram, now_ns)
        if datagram.source.role == "loadgen":
            if self.sources.admit_loadgen(datagram):
                self._fold_each(datagram.events, self._apply_loadgen_event)
            return
        if datagram.source.role == "sampler":
            if datagram.source.host != self.sources.host:  # this host's /proc the collector reads itself
                self._apply_readings(datagram)
            return
        process = self.sources.admit(datagram)
        if process is None:
            return
        if datagram.tasks is not None:
            self.requests.roster(process, datagram.tasks, now_ns, complete=datagram.bad_tasks == 0)
        self._fold_each(datagram.events, lambda event: self._apply_event(process, event))

    def _fold_each(self, events: Iterable[E], fold: Callable[[E], None]) -> None:
        """Fold events one at a time: one that the checks did not foresee (and raises) is counted
        as `failed_event` and costs its neighbours nothing."""
        for event in events:
            try:
                fold(event)
            except Exception:
                log.exception("model: an event failed: %.200r", event)
                self.reject("failed_event")

    def _apply_event(self, process: Process, event: Event) -> None:
        match event:
            case Begin():
                self.requests.begin(process, event)
            case End():
                self.requests.end(process, event)
            case Phase():
                self.requests.phase(process, event)
            case Stack():
                task = process.tasks.get(event.task)
                if task is not None:
                    task.stack = event.frames
            case Queue():
                process.queue = event.depth
            case Sampling() if event.interval_ms > 0:
                process.sampling_cost_pct = round(event.cost_ns / 1e9 * 100, 3)
            case Stall():
                stall(process, event.task, event.t_ns)
            case StallEnd():
                stall_end(process, event.t_ns, self.runs)

    def _apply_loadgen_event(self, event: Event) -> None:
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
                    self.tallies.count(self.run_server(run) or UNATTRIBUTED, False)
            case RunEnd():
                run.finish(event.t_ns, event.reason)
                run_ended(self.processes.values(), run.id, event.t_ns, self.runs)

    # -- the OS's view ------------------------------------------------------------------------

    def apply_cpu(self, pid: int, sample: ProcessSample | None, now_ns: int) -> None:
        """CPU times read from /proc for one process of this host; None: the process is gone."""
        process = self.sources.local(pid)
        if process is None or process.gone_ns is not None:
            return
        if sample is None:
            self.requests.process_gone(process, now_ns)
            return
        judge_cpu(process, sample, now_ns, self.runs)

    def _apply_readings(self, datagram: Datagram) -> None:
        """Another host's /proc as its sampler read it, judged as this host's own readings are; a
        reading not newer than the last one taken of its process (sent again, or late) is dropped."""
        found, gone = readings(datagram.events)
        for reading in found:
            process = self.processes.get((datagram.source.host, reading.pid))
            if process is None or process.gone_ns is not None:
                continue
            if not process.cpu or reading.t_ns > process.cpu[-1][0]:
                judge_cpu(process, reading.sample, reading.t_ns, self.runs)
        for pid, t_ns in gone:
            process = self.processes.get((datagram.source.host, pid))
            if process is not None and process.gone_ns is None:
                self.requests.process_gone(process, t_ns)

    def tick(self, now_ns: int, backlog: int | None) -> None:
        """Once per sampling round: the accept queue, the per-second series, expiry."""
        self.backlog = backlog
        counters = self.counters(now_ns)
        self.series.observe(counters["in_service"], counters["queued"])
        self.series.roll(now_ns, self.server.get("capacity"), self.cpu_by_process())
        self.expire(now_ns)

    def expire(self, now_ns: int) -> None:
        """Forget processes and tasks that have been gone long enough to have been seen going."""
        expire(self.processes, now_ns)

    def cpu_by_process(self) -> dict[str, float]:
        """Percent of a core per live process, as a point of the series holds it."""
        return {p.name: round(p.cpu_pct, 1) for p in self.processes.values() if p.gone_ns is None}

    # -- figures ------------------------------------------------------------------------------

    def counters(self, now_ns: int) -> dict[str, int]:
        """All servers told: requests queued at the client, in service, done and failed."""
        in_service = sum(
            1 for p in self.processes.values() for t in p.tasks.values() if t.request is not None
        )
        return {
            "queued": sum(run.queued() for run in self.active_runs(now_ns)),
            "in_service": in_service,
            "done": self.done,
            "failed": self.failed,
        }
