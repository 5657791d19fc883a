"""The servers the model sees, each apart: its processes, header, capacity, counters and queues.

Processes are grouped by the server id their agent reports (`src.server`). A server's capacity
and per-worker slots come from that report, read from the real server; only where the agent could
not tell (an ASGI or eventlet server, a process before its first request) does the managed server
fall back on the mode the dashboard started it in. Two servers are never summed into one.

The managed server is listed whenever the dashboard has one, with its mode, status and error, even
before (or after) it has a process to show: the page's status header is drawn from its entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.addresses import base_url, same_address
from dashboard.loadspec.targets import TargetName
from dashboard.model.live import Model
from dashboard.model.runs import Run
from dashboard.model.sustained_run import SustainedRun
from dashboard.model.tasks import Process
from threadpulse_agent.protocol import Server
from threadpulse_agent.server import server_id as local_server_id

# The id of the managed server while none of its processes has reported (starting, failed,
# stopped): agents' ids are "host:pid", so it cannot be taken for one.
MANAGED_ID = "managed"


@dataclass
class ServerGroup:
    """One server as the model sees it now."""

    id: str
    shape: Server | None
    processes: list[Process]
    managed: bool
    url: str | None
    target: str | None  # the name load is sent to it by (loadgen/targets.py), if any
    host: str  # where it runs: its processes' host (a server's workers share one)

    def slots(self, model: Model) -> int | None:
        """Slots each worker process draws: the agent's figure, else the managed mode's. An ASGI
        server's tasks have no bound: its slots are the threads that run its sync views."""
        shape = self.shape
        if shape is not None and shape.capacity is not None:
            return shape.capacity // max(1, shape.workers or 1)
        if shape is not None and shape.threads is not None:
            return shape.threads
        return model.slots_per_process if self.managed else None

    def capacity(self, model: Model) -> int | None:
        shape = self.shape
        if shape is not None and shape.capacity is not None:
            return shape.capacity
        return model.server.get("capacity") if self.managed else None


def groups(model: Model) -> list[ServerGroup]:
    """Every server with a process on the page, the managed one first, then this host's by id,
    then each other host's."""
    managed_pids = set(model.server.get("pids") or ())
    by_id: dict[str, list[Process]] = {}
    for process in sorted(model.processes.values(), key=lambda p: (p.host, p.pid)):
        by_id.setdefault(process.server, []).append(process)
    out = []
    for server_id, processes in by_id.items():
        shape = model.shapes.get(server_id)
        host = processes[0].host
        # The pids the dashboard started or launched are this host's: only those are matched.
        pids = {p.pid for p in processes if model.sources.is_local(p)}
        managed = bool(pids & managed_pids)
        target: str | None
        if managed:
            url, target = model.server.get("url"), TargetName.MANAGED
        else:
            url, target = _launched(model, pids | _master(server_id), shape)
        out.append(ServerGroup(server_id, shape, processes, managed, url, target, host))
    if model.server.get("mode") is not None and not any(group.managed for group in out):
        serves = model.server.get("status") == "serving"  # load may go to it before it reports
        name = TargetName.MANAGED if serves else None
        out.append(ServerGroup(MANAGED_ID, None, [], True, model.server.get("url"), name, model.sources.host))
    out.sort(key=lambda group: (not group.managed, group.host != model.sources.host, group.host, group.id))
    return out


def _master(server_id: str) -> set[int]:
    """The master pid in an id this host's agent made ("host:pid"), so a launched server is known
    by its master, which the launcher sees first, before the workers it forks are listed."""
    pid = server_id.rpartition(":")[2]
    ours = pid.isascii() and pid.isdecimal() and local_server_id(int(pid)) == server_id
    return {int(pid)} if ours else set()


def serving(model: Model, target: str) -> bool:
    """Whether a server load reaches by `target` is on the page with a live process."""
    return any(g.target == target and any(p.gone_ns is None for p in g.processes) for g in groups(model))


def _launched(model: Model, pids: set[int], shape: Server | None) -> tuple[str | None, str | None]:
    """(url, target) of a server the dashboard did not start. Launched from the user's command: the
    address the launcher found or was given, and its name, matched by pids; none while it has none
    (one of several ports, not named by --target: load cannot go there, so the page names none).
    Else where the agent read it listens, and the attached server's name (`--attach --target`) if
    that is its address; no target for a server that only reports."""
    for name, (launched, url) in model.launched.items():
        if pids & launched:
            return (url, name) if url else (None, None)
    url = _listen_url(shape)
    if url is not None:
        for name, (launched, at) in model.launched.items():
            if at and not launched and same_address(at, url):
                return url, name
    return url, None


def _listen_url(shape: Server | None) -> str | None:
    """The base URL of the first address the agent read the server listens on, if it is TCP."""
    if shape is None or not shape.listen:
        return None
    address = shape.listen[0]
    if "://" in address or "/" in address:  # a unix socket, or a scheme we do not speak
        return None
    host, _, port = address.rpartition(":")
    return base_url(host, port) if port.isdecimal() else None


def label(group: ServerGroup, model: Model) -> str:
    """The server's header: what runs, its shape, where: "gunicorn gthread 2 × 4 :8000"."""
    shape = group.shape
    if shape is None:
        text = (model.server.get("mode") or "server") if group.managed else "server"
    else:
        text = shape.kind
        per_worker = shape.connections or shape.threads
        if shape.workers is not None and per_worker is not None:
            text += f" {shape.workers} × {per_worker}"
        elif shape.capacity is None:
            text += ", a thread per request"
    port = group.url.rsplit(":", 1)[-1] if group.url else None
    return f"{text} :{port}" if port and port.isdecimal() else text


def counters(group: ServerGroup, model: Model, now_ns: int) -> dict[str, int]:
    """queued (sent by the dashboard's load, not yet taken), in service, done, failed."""
    tally = model.tallies.get(group.id, {"done": 0, "failed": 0})
    in_service = sum(1 for p in group.processes for t in p.tasks.values() if t.request is not None)
    queued = sum(run.queued() for run in model.active_runs(now_ns) if _sent_to(run, group, model))
    return {"queued": queued, "in_service": in_service, "done": tally["done"], "failed": tally["failed"]}


def _sent_to(run: Run | SustainedRun, group: ServerGroup, model: Model) -> bool:
    """Whether `run` went to this server: the one whose task took a request of it, else the one
    its target names (a run of an older recording names none: it went to the managed server)."""
    server = model.run_server(run)
    if server is not None:
        return server == group.id
    return group.target is not None and (run.target or TargetName.MANAGED) == group.target


def server_view(group: ServerGroup, model: Model, now_ns: int) -> dict:
    """One entry of `/api/state`'s `servers`: all a header shows of the server, figures and
    queues computed here only. Mode, params, status and error are the managed server's (null for
    a server the dashboard did not start); its size is the mode's until its agent tells."""
    shape = group.shape
    started = model.server if group.managed else {}
    alive = [p for p in group.processes if p.gone_ns is None]
    in_workers = [p.queue for p in alive if p.queue is not None]
    figures = counters(group, model, now_ns)
    return {
        "id": group.id,
        "host": group.host,
        "label": label(group, model),
        "mode": started.get("mode"),
        "params": dict(started["params"]) if started.get("params") is not None else None,
        "status": started.get("status"),
        "error": started.get("error"),
        "kind": shape.kind if shape else None,
        "workers": shape.workers if shape else started.get("workers"),
        "threads": shape.threads if shape else started.get("threads"),
        "connections": shape.connections if shape else None,
        "python": python_view(group.processes),
        "capacity": group.capacity(model),
        "slots": group.slots(model),
        "url": group.url,
        "pids": [p.pid for p in group.processes],
        "managed": group.managed,
        "target": group.target,
        "counters": figures,
        "queues": {
            "client": figures["queued"],
            "accept_backlog": model.backlog if group.managed else None,
            "in_workers": sum(in_workers) if in_workers else None,
        },
    }


def python_view(processes: list[Process]) -> dict | None:
    """The interpreter of a server's newest process as its agent read it (`src.python`); None
    until one says. Its processes run one interpreter, so the newest speaks for them all."""
    known = [p.python for p in processes if p.python is not None]
    return {"version": known[-1].version, "gil": known[-1].gil} if known else None


def managed_python(model: Model) -> dict | None:
    """The managed server's interpreter as its agent read it (`GET /api/server`'s `python`)."""
    return next((python_view(g.processes) for g in groups(model) if g.managed), None)


def servers_view(model: Model, now_ns: int) -> list[dict]:
    """Every server, the managed one first: the only place frames and the state carry servers."""
    return [server_view(group, model, now_ns) for group in groups(model)]
