"""The model as JSON-ready dicts: what `/api/state`, snapshots and frames carry."""

from __future__ import annotations

from dashboard.model.live import Model, Process, TaskState

RECENT_RUNS = 5


def task_view(task: TaskState, now_ns: int, with_age: bool = True) -> dict:
    """A task; frames leave out the request's age, which the page computes between frames."""
    request = None
    if task.request is not None:
        request = {
            "id": task.request.id,
            "path": task.request.path,
            "started_ms": round(task.request.started_ns / 1e6, 1),
        }
        if with_age:
            request["age_ms"] = round((now_ns - task.request.started_ns) / 1e6, 1)
    return {
        "id": task.id,
        "name": task.name,
        "kind": task.kind,
        "state": task.state,
        "request": request,
        "cpu_pct": round(task.cpu_pct),
    }


def process_view(model: Model, process: Process) -> dict:
    """A process without its tasks (frames send tasks apart)."""
    return {"pid": process.pid, "slots": model.slots_per_process, "status": process.status}


def task_key(pid: int, task_id: int) -> str:
    return f"{pid}:{task_id}"


def runs_view(model: Model, now_ns: int) -> list[dict]:
    """The latest runs, newest first."""
    return [run.summary(now_ns) for run in reversed(list(model.runs.values())[-RECENT_RUNS:])]


def state_view(model: Model, now_ns: int) -> dict:
    """Everything the page draws: `GET /api/state` and the Socket.IO snapshot."""
    return {
        "server": dict(model.server),
        "processes": [
            {**process_view(model, p), "tasks": [task_view(t, now_ns) for t in p.tasks.values()]}
            for p in sorted(model.processes.values(), key=lambda p: p.pid)
        ],
        "counters": model.counters(now_ns),
        "runs": runs_view(model, now_ns),
        "collector": collector_view(model),
    }


def collector_view(model: Model) -> dict:
    """What was lost on the way: datagrams refused, missing by sequence, dropped at the source."""
    return {
        "rejected": dict(model.rejected),
        "lost": sum(p.lost for p in model.processes.values()),
        "dropped": sum(p.dropped for p in model.processes.values()),
    }


def frame_parts(model: Model, now_ns: int) -> dict:
    """The comparable pieces a frame is a difference of (no ageing values inside)."""
    return {
        "server": dict(model.server),
        "processes": [process_view(model, p) for p in sorted(model.processes.values(), key=lambda p: p.pid)],
        "tasks": {
            task_key(p.pid, t.id): task_view(t, now_ns, with_age=False)
            for p in model.processes.values()
            for t in p.tasks.values()
        },
        "counters": model.counters(now_ns),
        "runs": runs_view(model, now_ns),
        "collector": collector_view(model),
    }
