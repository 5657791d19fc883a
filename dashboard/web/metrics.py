"""`GET /metrics`: the model's figures for Prometheus, read from the model at scrape time, and the
dashboard's own viewers, read from its broadcaster.

One custom collector on a registry of its own, made per scrape: no global mutable metrics that
could drift from the model, and the same state `GET /api/state` answers, so the two agree. A read
like every other: the loopback Host rule covers it, and it needs no presenter token.
Every metric is listed, with its labels, in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, request
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from dashboard.broadcaster import Broadcaster
from dashboard.mirror import Mirror
from dashboard.model.live import Model
from dashboard.model.store import Store
from dashboard.model.views import state_view
from dashboard.services import MessageQueue, current_services
from dashboard.web.viewer_sockets import drop_counts

metrics = Blueprint("metrics", __name__)


@dataclass(frozen=True)
class RouteSample:
    """One route's figures, copied out of the model under its lock."""

    server: str
    route: str
    statuses: dict[str, int]
    queue_wait: tuple[list[tuple[str, int]], float]  # cumulative buckets, sum (s)
    service: tuple[list[tuple[str, int]], float]


@dataclass(frozen=True)
class Scrape:
    """What one scrape reads: the state as /api/state has it, and what the state leaves out."""

    state: dict
    routes: list[RouteSample]
    losses: dict[str, tuple[int, int]]  # process name -> (events the agent dropped, datagrams lost)
    rejected: dict[str, int]
    kernel_dropped: int | None
    host: str  # the dashboard's own: the host of a server no longer on the page (its routes stay)


def read(model: Model, now_ns: int) -> Scrape:
    """Copy what the metrics need; called under the store's lock, so it only copies."""
    routes = [
        RouteSample(
            server,
            route,
            dict(figures.statuses),
            (figures.queue_wait.cumulative(), figures.queue_wait.sum_s),
            (figures.service.cumulative(), figures.service.sum_s),
        )
        for server, book in model.routes.servers.items()
        for route, figures in book.figures.items()
    ]
    losses = {p.name: (p.dropped, p.lost) for p in model.processes.values()}
    state = state_view(model, now_ns)
    return Scrape(state, routes, losses, dict(model.rejected), model.kernel_drops, model.sources.host)


def families(scrape: Scrape) -> Iterator[Metric]:
    """Every metric family of one scrape (pure: tested without a server)."""
    state = scrape.state
    servers = [s for s in state["servers"] if s["pids"]]  # the managed one before it reports: none
    workers = [p for p in state["processes"] if p["status"] == "alive"]
    yield from _servers(servers, workers)
    yield from _workers(workers, scrape.losses)
    yield from _queues(servers)
    hosts = {server["id"]: server["host"] for server in state["servers"]}
    yield from _routes(scrape.routes, lambda server: hosts.get(server, scrape.host))
    yield from _collector(scrape)


SERVER_LABELS = ["server", "host"]
WORKER_LABELS = ["server", "host", "worker"]


def _server_of(process: dict) -> str:
    return process["server"]


def _busy(process: dict) -> int:
    return sum(1 for task in process["tasks"] if task["request"] is not None)


def _servers(servers: list[dict], workers: list[dict]) -> Iterator[Metric]:
    capacity = GaugeMetricFamily(
        "threadpulse_capacity",
        "Requests the server can serve at once (absent: unbounded)",
        labels=SERVER_LABELS,
    )
    utilisation = GaugeMetricFamily(
        "threadpulse_utilisation_ratio", "Tasks busy over the server's capacity", labels=SERVER_LABELS
    )
    for server in servers:
        if server.get("capacity"):
            busy = sum(_busy(p) for p in workers if _server_of(p) == server["id"])
            capacity.add_metric([server["id"], server["host"]], server["capacity"])
            utilisation.add_metric([server["id"], server["host"]], busy / server["capacity"])
    yield capacity
    yield utilisation


def _workers(workers: list[dict], losses: dict[str, tuple[int, int]]) -> Iterator[Metric]:
    labels = WORKER_LABELS
    busy = GaugeMetricFamily("threadpulse_tasks_busy", "Tasks serving a request", labels=labels)
    idle = GaugeMetricFamily("threadpulse_tasks_idle", "Tasks alive in the pool, no request", labels=labels)
    slots = GaugeMetricFamily(
        "threadpulse_worker_capacity",
        "Requests the worker can serve at once (absent: unbounded)",
        labels=labels,
    )
    utilisation = GaugeMetricFamily(
        "threadpulse_worker_utilisation_ratio", "Tasks busy over the worker's capacity", labels=labels
    )
    in_worker = GaugeMetricFamily(
        "threadpulse_worker_queue",
        "Requests accepted by the worker, waiting for a free thread (absent: the server has no such queue)",
        labels=labels,
    )
    dropped = CounterMetricFamily(
        "threadpulse_agent_dropped_events",
        "Events the worker's agent dropped: its buffer was full",
        labels=labels,
    )
    lost = CounterMetricFamily(
        "threadpulse_datagrams_lost",
        "Datagrams of the worker that never reached the collector",
        labels=labels,
    )
    for process in workers:
        key = [_server_of(process), process["host"], str(process["pid"])]
        busy.add_metric(key, _busy(process))
        idle.add_metric(key, sum(1 for t in process["tasks"] if t["state"] == "idle"))
        if process.get("slots"):
            slots.add_metric(key, process["slots"])
            utilisation.add_metric(key, _busy(process) / process["slots"])
        if process.get("queue") is not None:
            in_worker.add_metric(key, process["queue"])
        agent_dropped, datagrams_lost = losses.get(process["key"], (0, 0))
        dropped.add_metric(key, agent_dropped)
        lost.add_metric(key, datagrams_lost)
    yield from (busy, idle, slots, utilisation, in_worker, dropped, lost)


def _queues(servers: list[dict]) -> Iterator[Metric]:
    """Waiting at the client and in the kernel, as each server's entry has them (the kernel's
    backlog is read for the managed server's socket only; in-worker queues are per worker, above)."""
    client = GaugeMetricFamily(
        "threadpulse_queued_client",
        "Requests the dashboard's load generator sent that no task has picked up yet",
        labels=SERVER_LABELS,
    )
    backlog = GaugeMetricFamily(
        "threadpulse_accept_backlog",
        "Connections in the kernel's accept queue of the server's listening socket",
        labels=SERVER_LABELS,
    )
    for server in servers:
        queues, labels = server["queues"], [server["id"], server["host"]]
        client.add_metric(labels, queues["client"])
        if queues["accept_backlog"] is not None:
            backlog.add_metric(labels, queues["accept_backlog"])
    yield client
    yield backlog


def _routes(routes: list[RouteSample], host_of: Callable[[str], str]) -> Iterator[Metric]:
    requests_total = CounterMetricFamily(
        "threadpulse_requests",
        "Requests that ended at a worker, by route and status (`error`: the app raised)",
        labels=["server", "host", "route", "status"],
    )
    wait = HistogramMetricFamily(
        "threadpulse_queue_wait_seconds",
        "From sent to picked up by a task, for requests the dashboard's load generator sent",
        labels=["server", "host", "route"],
    )
    service = HistogramMetricFamily(
        "threadpulse_service_seconds", "From picked up by a task to done", labels=["server", "host", "route"]
    )
    for sample in routes:
        labels = [sample.server, host_of(sample.server), sample.route]
        for status, count in sorted(sample.statuses.items()):
            requests_total.add_metric([*labels, status], count)
        wait.add_metric(labels, *sample.queue_wait)
        service.add_metric(labels, *sample.service)
    yield from (requests_total, wait, service)


def _collector(scrape: Scrape) -> Iterator[Metric]:
    rejected = CounterMetricFamily(
        "threadpulse_collector_rejected",
        "Datagrams, events, roster entries or tags the collector refused, by reason",
        labels=["reason"],
    )
    for reason, count in sorted(scrape.rejected.items()):
        rejected.add_metric([reason], count)
    yield rejected
    if scrape.kernel_dropped is not None:
        yield CounterMetricFamily(
            "threadpulse_collector_kernel_dropped",
            "Datagrams the kernel dropped on the collector's socket",
            value=scrape.kernel_dropped,
        )


class ModelCollector(Collector):
    """Reads the model when Prometheus scrapes, never between."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        now = self.store.now_ns()  # the replay's clock in a replay
        yield from families(self.store.use(lambda model: read(model, now)))


class ViewerCollector(Collector):
    """This process's own viewers and what reached them: not in the model (a replay has viewers
    of its own too, and a viewer-only process has no model, only them)."""

    def __init__(self, broadcaster: Broadcaster | Mirror, queue: MessageQueue | None = None) -> None:
        self.broadcaster = broadcaster
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "threadpulse_viewers", "Socket.IO viewers connected", value=len(self.broadcaster.viewers)
        )
        dropped = CounterMetricFamily(
            "threadpulse_viewers_dropped", "Viewers the dashboard dropped, by reason", labels=["reason"]
        )
        for reason, count in drop_counts(self.broadcaster.viewers_dropped()).items():
            dropped.add_metric([reason], count)
        yield dropped
        yield CounterMetricFamily(
            "threadpulse_frames_sent",
            "Live frames sent to this process's viewers, each to every viewer",
            value=self.broadcaster.frames_sent,
        )
        if self.queue is not None:
            yield CounterMetricFamily(
                "threadpulse_queue_dropped",
                "Messages not published to the message queue: Redis was too slow or away, its outbox full",
                value=self.queue.dropped,
            )
        if isinstance(self.broadcaster, Mirror):
            yield CounterMetricFamily(
                "threadpulse_mirror_seeds",
                "Views a viewer-only process fetched from its primary: more than one, a frame was missed",
                value=self.broadcaster.seeds,
            )


@metrics.get("/metrics")
def scrape() -> Response:
    """Prometheus's text format, or OpenMetrics when the scraper asks for it (its Accept header);
    a viewer-only process's, its own viewers and what reached them (it holds no model)."""
    services = current_services()
    registry = CollectorRegistry()
    if services.config.primary is None:  # a viewer-only process's model is empty: its viewers only
        registry.register(ModelCollector(services.store))
    registry.register(ViewerCollector(services.broadcaster, services.message_queue))
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type)
