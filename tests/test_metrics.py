"""GET /metrics (dashboard/web/metrics.py): Prometheus's format, read from the model at scrape time,
agreeing with /api/state on a real dashboard after a real burst."""

from __future__ import annotations

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from dashboard.broadcaster import Broadcaster
from dashboard.fanout import Fanout
from dashboard.mirror import Mirror
from dashboard.model.live import Model
from dashboard.model.store import Store
from dashboard.web.metrics import ModelCollector, ViewerCollector
from tests.support import ROOT, managed, wait_for
from threadpulse_agent.protocol import Source, Task, begin_event, decode, encode, end_event, queue_event

MS = 1_000_000
WORKER = Source("h", 10, "gunicorn-gthread", "worker")
QUEUE = "redis://127.0.0.1:1/0"  # never connected to: its manager is only read
SERVER = "h:10"  # a worker whose agent names no server is a server of its own (model/servers.py)


def parse(text: str) -> dict[str, list]:
    """Samples by metric family name, as Prometheus's own parser reads the text."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list, name: str, **labels: str) -> float:
    (found,) = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    return found


def scraped(model: Model) -> dict[str, list]:
    registry = CollectorRegistry()
    store = Store(model)
    registry.register(ModelCollector(store))
    registry.register(ViewerCollector(Broadcaster(store, lambda *_sent: None)))
    return parse(generate_latest(registry).decode())


def fed_model() -> Model:
    model = Model("h")
    model.set_server({"mode": "gunicorn-gthread", "status": "serving", "capacity": 4, "pids": [10]}, 4)
    roster = [Task(5, "T0", "thread", 5), Task(6, "T1", "thread", 6)]
    events = [
        begin_event(5, 10 * MS, 0, "GET", "/post/1", ""),
        end_event(5, 40 * MS, 0, "200", "/post/<int:post_id>"),
        begin_event(5, 50 * MS, 1, "GET", "/post/2", ""),
        end_event(5, 1_550 * MS, 1, "", "/post/<int:post_id>"),
        begin_event(6, 60 * MS, 2, "GET", "/io", ""),
        queue_event(70 * MS, 3),
    ]
    model.apply(decode(encode(WORKER, 0, 5, 0, events, roster)), 100 * MS)
    model.reject("not_json", 2)
    return model


def test_the_text_parses_and_names_server_and_worker_from_the_model():
    """Issue 13, item 5: per server and worker, the metrics the issue names at least."""
    metrics = scraped(fed_model())
    assert value(metrics["threadpulse_capacity"], "threadpulse_capacity", server=SERVER) == 4
    busy = metrics["threadpulse_tasks_busy"]
    assert value(busy, "threadpulse_tasks_busy", server=SERVER, worker="10") == 1
    assert value(metrics["threadpulse_tasks_idle"], "threadpulse_tasks_idle", worker="10") == 1
    assert value(metrics["threadpulse_utilisation_ratio"], "threadpulse_utilisation_ratio") == 0.25
    assert value(metrics["threadpulse_worker_queue"], "threadpulse_worker_queue", worker="10") == 3
    assert value(
        metrics["threadpulse_agent_dropped_events"], "threadpulse_agent_dropped_events_total", worker="10"
    ) == 5  # fmt: skip
    assert value(
        metrics["threadpulse_collector_rejected"], "threadpulse_collector_rejected_total", reason="not_json"
    ) == 2  # fmt: skip
    requests_total = metrics["threadpulse_requests"]
    route = "/post/<int:post_id>"
    assert value(requests_total, "threadpulse_requests_total", route=route, status="200") == 1
    assert value(requests_total, "threadpulse_requests_total", route=route, status="error") == 1


def test_the_service_histogram_is_cumulative_with_count_and_sum():
    """Prometheus's histogram law: buckets never fall, +Inf equals _count; 30 ms and 1.5 s land
    in the buckets the law puts them in."""
    service = scraped(fed_model())["threadpulse_service_seconds"]
    buckets = [(s.labels["le"], s.value) for s in service if s.name.endswith("_bucket")]
    counts = [count for _, count in buckets]
    assert counts == sorted(counts) and buckets[-1] == ("+Inf", 2)
    assert dict(buckets)["0.05"] == 1 and dict(buckets)["1.0"] == 1 and dict(buckets)["2.5"] == 2
    assert value(service, "threadpulse_service_seconds_count") == 2
    assert abs(value(service, "threadpulse_service_seconds_sum") - 1.53) < 1e-6


def test_an_unbounded_server_has_no_capacity_series():
    """flask-dev-threaded and asyncio have no capacity: a 0 would read as a full pool."""
    model = fed_model()
    model.set_server({"mode": "flask-dev-threaded", "status": "serving", "capacity": None}, None)
    metrics = scraped(model)
    assert metrics["threadpulse_capacity"] == [] and metrics["threadpulse_worker_capacity"] == []


# -- a real dashboard (conftest: gunicorn gthread 1 × 4) ----------------------------------------------


def sum_of(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_metrics_agree_with_the_state_during_and_after_a_real_burst(dashboard):
    """Issue 13, item 6: capacity, tasks busy while the pool is full, and done counts agree with
    /api/state; the queue-wait histogram counts every request of the burst under its route."""
    run = dashboard.fire("io", 8, 3000)  # 8 × 3 s on 4 slots: the pool stays full for 3 s
    wait_for(
        lambda: dashboard.get("/api/state").json()["counters"]["in_service"] == 4,
        timeout=20,
        what="the pool to fill",
    )
    reply = dashboard.get("/metrics")
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/plain")
    metrics = parse(reply.text)
    state = dashboard.get("/api/state").json()
    assert sum_of(metrics["threadpulse_tasks_busy"], "threadpulse_tasks_busy") == 4
    assert state["counters"]["in_service"] == 4  # still full: the first 4 take 3 s
    assert value(metrics["threadpulse_capacity"], "threadpulse_capacity") == managed(state)["capacity"] == 4
    workers = {str(p["pid"]) for p in state["processes"] if p["status"] == "alive"}
    assert {s.labels["worker"] for s in metrics["threadpulse_tasks_busy"]} == workers

    result = dashboard.wait_run(run)
    assert result["done"] == 8
    metrics = parse(dashboard.get("/metrics").text)
    state = dashboard.get("/api/state").json()
    requests_total = metrics["threadpulse_requests"]
    ok = sum(s.value for s in requests_total if s.name.endswith("_total") and s.labels["status"][0] in "23")
    assert ok == state["counters"]["done"] >= 8
    waits = metrics["threadpulse_queue_wait_seconds"]
    assert value(waits, "threadpulse_queue_wait_seconds_count", route="/io") >= 8
    # The 4 that found the pool full waited for a slot about one service time (3 s), sent at about
    # the time the first 4 were: over 1 s, whatever the load on the machine (slack: 2 s of sending).
    over = value(waits, "threadpulse_queue_wait_seconds_count", route="/io") - value(
        waits, "threadpulse_queue_wait_seconds_bucket", route="/io", le="1.0"
    )
    assert over >= 4
    assert sum_of(metrics["threadpulse_tasks_busy"], "threadpulse_tasks_busy") == 0


def test_metrics_speak_openmetrics_when_asked_and_keep_the_host_rule(dashboard):
    """Prometheus asks for OpenMetrics in its Accept header; /metrics is a read like /api/state:
    open without a token, refused to a foreign Host on a loopback bind (DNS rebinding)."""
    reply = dashboard.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert reply.headers["Content-Type"].startswith("application/openmetrics-text")
    assert reply.text.rstrip().endswith("# EOF")
    refused = dashboard.get("/metrics", headers={"Host": "rebound.example:8050"})
    assert refused.status_code == 403


def test_every_metric_is_documented_with_its_labels():
    """docs/metrics.md's table and the collector cannot drift: same names, same labels."""
    model = fed_model()
    model.kernel_drops, model.backlog = 0, 2
    model.routes.end(SERVER, "/q", None, "200", 0.1, 0.2)  # a queue wait, so every label shows
    documented = {}
    for line in (ROOT / "docs" / "metrics.md").read_text().splitlines():
        if line.startswith("| `threadpulse_"):
            name, _, labels, _ = (cell.strip() for cell in line.strip("|").split("|"))
            documented[name.strip("`")] = set() if labels == "—" else set(labels.split(", "))
    produced = {}
    viewers_only = CollectorRegistry()  # a viewer-only process's own families, with a message queue
    viewers_only.register(ViewerCollector(Mirror("http://primary", lambda *_sent: None), Fanout(QUEUE, True)))
    for samples in [*scraped(model).values(), *parse(generate_latest(viewers_only).decode()).values()]:
        for sample in samples:
            name = sample.name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
            produced.setdefault(name, set()).update(set(sample.labels) - {"le"})
    assert documented == produced
