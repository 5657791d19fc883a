"""A request's life in a task: the roster that names the tasks, `begin`, the declared phases,
`end` (counted, timed, drawn as a span), or the task or process gone under it."""

from __future__ import annotations

from collections.abc import Callable

from dashboard.model.history import Series, Spans
from dashboard.model.routes import RouteBook
from dashboard.model.run_book import RunBook
from dashboard.model.tallies import Tallies
from dashboard.model.tasks import Process, Request, TaskState, task_key
from threadpulse_agent.protocol import MAX_ROSTER, Begin, End, Phase, Task, parse_tag, request_name

MAX_TASKS_PER_PROCESS = 1_024


class RequestLife:
    """Folds the agent's task and request events into tasks, runs, tallies, routes and history."""

    def __init__(
        self,
        runs: RunBook,
        tallies: Tallies,
        routes: RouteBook,
        series: Series,
        spans: Spans,
        reject: Callable[[str], None],
    ) -> None:
        self.runs, self.tallies, self.routes = runs, tallies, routes
        self.series, self.spans, self._reject = series, spans, reject

    def roster(self, process: Process, roster: tuple[Task, ...], now_ns: int, complete: bool) -> None:
        """The process's tasks as its agent lists them: new ones appear, a provisional name gets its
        real one, and (when the list is whole) a task it leaves out is gone."""
        listed = {task.id for task in roster}
        for entry in roster:
            known = process.tasks.get(entry.id)
            if known is None and len(process.tasks) < MAX_TASKS_PER_PROCESS:
                process.tasks[entry.id] = TaskState(entry.id, entry.name, entry.kind, entry.native_id)
            elif known is not None and known.name == _provisional(entry.id):
                known.name, known.kind, known.native_id = entry.name, entry.kind, entry.native_id
        if len(roster) >= MAX_ROSTER or not complete:
            return  # a roster cut short, or missing a bad entry: a task it leaves out may be alive
        for task in process.tasks.values():
            if task.id not in listed and task.gone_ns is None:
                self._task_gone(process, task, now_ns)

    def begin(self, process: Process, begin: Begin) -> None:
        task = self._task(process, begin.task)
        tagged = parse_tag(begin.tag)
        if begin.tag is not None and tagged is None:
            self._reject("bad_tag")  # the request is still drawn and counted, just not in a run
        name = request_name(process.name, begin.request)
        route = self.routes.guess(process.server, begin.path)
        request = Request(name, begin.request, begin.path, begin.t_ns, route)
        if tagged is not None:
            request.run, request.index, sent_ns = tagged
            run = self.runs.get(request.run)
            if run is not None:
                run.record_begin(request.index, begin.t_ns, sent_ns, process.key)
        if task is not None:
            task.request = request
            task.phase, task.since_ns = None, begin.t_ns
            task.stack = None
            task.set_state("running", None, begin.t_ns)

    def end(self, process: Process, end: End) -> None:
        t_ns, status = end.t_ns, end.status
        ok = status.isdigit() and 200 <= int(status) < 400
        task = process.tasks.get(end.task)
        if task is not None and task.lost is not None and task.lost.number == end.request:
            # A thread made for one request (the dev server's) exits as it answers: the roster
            # that left it out can come before its End, even in the same datagram. The request
            # was not lost: its failure is taken back and the End counts it, once.
            self.tallies.retract_failure(process.server)
            task.request, task.lost = task.lost, None
        self.tallies.count(process.server, ok)
        if task is None or task.request is None or task.request.number != end.request:
            self.routes.end(process.server, None, end.route, status, None, None)
            return
        request = task.request
        sent_ns = None
        run = self.runs.get(request.run) if request.run is not None else None
        if run is not None:
            run.record_end(request.index, t_ns)
            sent_ns = run.sent.get(request.index)
        wait_ms = None if sent_ns is None else (request.started_ns - sent_ns) / 1e6
        service_ms = (t_ns - request.started_ns) / 1e6
        wait_s = None if wait_ms is None else wait_ms / 1e3
        route = self.routes.end(process.server, request.path, end.route, status, wait_s, service_ms / 1e3)
        self.series.record_end(ok, wait_ms, service_ms, route)
        key = task_key(process.name, task.id)
        self.spans.add(key, request.started_ns, t_ns, sent_ns, request.path, status, route)
        task.request = None
        task.stack = None
        if task.gone_ns is None:
            task.set_state("idle", None, t_ns)

    def phase(self, process: Process, phase: Phase) -> None:
        """The endpoint declared what its request does now. An OS thread's state is then judged
        from /proc; a green thread or asyncio task has no thread of its own to read, but the
        one that is in the hub's way is known (`stall`): any other one doing I/O is suspended,
        so waiting, and one that starts computing holds the hub, so running."""
        task = process.tasks.get(phase.task)
        if task is None or task.request is None:
            return
        task.phase, task.since_ns = phase.phase, phase.t_ns
        if task.kind == "thread" or process.stalled_by not in (None, task.id):
            return
        task.set_state("running" if phase.phase == "cpu" else "waiting", None, phase.t_ns)

    def process_gone(self, process: Process, now_ns: int) -> None:
        """/proc no longer has the process: it and every task of it are gone."""
        process.gone_ns = now_ns
        for task in process.tasks.values():
            self._task_gone(process, task, now_ns)

    def _task(self, process: Process, task_id: int) -> TaskState | None:
        task = process.tasks.get(task_id)
        if task is None and len(process.tasks) < MAX_TASKS_PER_PROCESS:
            # Its roster entry is on its way; draw it now under a provisional name, and of the
            # kind its process's other tasks are (one server runs every request on one kind).
            kind = next(iter(process.tasks.values())).kind if process.tasks else "thread"
            task = process.tasks[task_id] = TaskState(task_id, _provisional(task_id), kind, task_id)
        return task

    def _task_gone(self, process: Process, task: TaskState, now_ns: int) -> None:
        """A task gone under its request fails it; the slot it held is free from now."""
        if task.request is not None:
            self.tallies.count(process.server, False)
            run = self.runs.get(task.request.run) if task.request.run is not None else None
            if run is not None:
                run.record_end(task.request.index, now_ns)
            task.request, task.lost = None, task.request
        task.set_state("gone", None, now_ns)
        task.gone_ns = now_ns


def _provisional(task_id: int) -> str:
    return f"task {task_id}"
