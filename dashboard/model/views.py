"""The model as JSON-ready dicts: what `/api/state`, snapshots and frames carry."""

from __future__ import annotations

from dashboard.model.captions import captions
from dashboard.model.classify import EXPLANATIONS
from dashboard.model.history import Span
from dashboard.model.live import Model
from dashboard.model.servers import ServerGroup, groups, servers_view
from dashboard.model.tasks import Process, TaskState, task_key

RECENT_RUNS = 5
SPANS_IN_SNAPSHOT = 2_000
SPANS_PER_FRAME = 500


def task_view(task: TaskState, now_ns: int, with_age: bool = True) -> dict:
    """A task; frames leave out the request's age, which the page computes between frames."""
    request = None
    if task.request is not None:
        request = {
            "id": task.request.id,
            "path": task.request.path,
            "route": task.request.route,
            "started_ms": round(task.request.started_ns / 1e6, 1),
        }
        if with_age:
            request["age_ms"] = round((now_ns - task.request.started_ns) / 1e6, 1)
    return {
        "id": task.id,
        "name": task.name,
        "kind": task.kind,
        "state": task.state,
        "why": task.why,
        "phase": task.phase,
        "request": request,
        "cpu_pct": round(task.cpu_pct),
    }


def task_detail(process: Process, task: TaskState, now_ns: int) -> dict:
    """One task inspected: its request, CPU, where its time went, and where its code is."""
    return {
        **task_view(task, now_ns),
        "pid": process.pid,
        "host": process.host,
        "native_id": task.native_id,
        "state_ms": {label: round(ms) for label, ms in task.state_ms.items()},
        "history": [{"at_ms": at, "state": state} for at, state in task.history],
        "stack": task.stack,
        "explanation": EXPLANATIONS.get(task.why or "", None),
    }


def process_view(model: Model, process: Process, group: ServerGroup) -> dict:
    """A process without its tasks (frames send tasks apart), with its server's slots per worker."""
    return {
        "pid": process.pid,
        "host": process.host,
        "key": process.name,  # what frames' task keys and the page know it by: unique across hosts
        "server": group.id,
        "slots": group.slots(model),
        "status": process.status,
        "queue": process.queue,
        "cpu_pct": round(process.cpu_pct),
        "sampling_cost_pct": process.sampling_cost_pct,
        "stalled_by": process.stalled_by,
    }


def placed(model: Model) -> list[tuple[Process, ServerGroup]]:
    """Every process with its server, a server's processes together (the page groups them)."""
    return [(process, group) for group in groups(model) for process in group.processes]


def spans_view(model: Model, now_ns: int, after: int = 0, most: int = SPANS_IN_SNAPSHOT) -> list[Span]:
    """Finished requests of the span window after span number `after` (the timeline's bars)."""
    return model.spans.since(after, now_ns, most)


def runs_view(model: Model, now_ns: int) -> list[dict]:
    """The latest runs, newest first."""
    return [run.summary(now_ns) for run in reversed(list(model.runs.values())[-RECENT_RUNS:])]


def scene_view(model: Model, now_ns: int) -> dict | None:
    """The scene fired last, with its run's verdict once the run is over (null before)."""
    if model.scene is None:
        return None
    run = model.runs.get(model.scene["run"])
    return {**model.scene, "verdict": None if run is None else run.summary(now_ns)["verdict"]}


def state_view(model: Model, now_ns: int) -> dict:
    """Everything the page draws: `GET /api/state` and the Socket.IO snapshot."""
    return {
        **_shared(model, now_ns),
        "processes": [
            {**process_view(model, p, g), "tasks": [task_view(t, now_ns) for t in p.tasks.values()]}
            for p, g in placed(model)
        ],
    }


def history_view(model: Model, now_ns: int) -> dict:
    """Finished requests of the span window (timeline) and the per-second series (charts)."""
    return {"spans": spans_view(model, now_ns), "series": model.series.since(0)}


def collector_view(model: Model) -> dict:
    """What was lost on the way: datagrams refused, missing by sequence, dropped at the source,
    dropped by the kernel on the collector's socket (None where the kernel does not say)."""
    return {
        "rejected": dict(model.rejected),
        "lost": sum(p.lost for p in model.processes.values()),
        "dropped": sum(p.dropped for p in model.processes.values()),
        "kernel_dropped": model.kernel_drops,
    }


def frame_parts(model: Model, now_ns: int) -> dict:
    """The comparable pieces a frame is a difference of (no ageing values inside)."""
    return {
        **_shared(model, now_ns),
        "processes": [process_view(model, p, g) for p, g in placed(model)],
        "tasks": {
            task_key(p.name, t.id): task_view(t, now_ns, with_age=False)
            for p in model.processes.values()
            for t in p.tasks.values()
        },
        "span_seq": model.spans.seq,
        "series_seq": model.series.seq,
    }


def _shared(model: Model, now_ns: int) -> dict:
    """What the state and a frame's parts both carry. Servers only in `servers`, each with its own
    header, counters and queues; `counters` is all servers together: done and failed the sum of
    the per-server tallies, in service and queued counted over every process and run, as the
    per-second series records them (the stage's and the audience's counters)."""
    return {
        "servers": servers_view(model, now_ns),
        "counters": model.counters(now_ns),
        "runs": runs_view(model, now_ns),
        "collector": collector_view(model),
        "captions": captions(model, now_ns),
        "scene": scene_view(model, now_ns),
    }
