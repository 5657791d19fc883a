"""gunicorn's gevent worker: N processes, each serving up to M connections on greenlets."""

from __future__ import annotations

from dashboard.servers.mode import Mode, Param, python_module


class GunicornGevent(Mode):
    name = "gunicorn-gevent"
    title = "gunicorn gevent (workers × green connections)"
    sentence = (
        "gunicorn's gevent worker monkey-patches the standard library so every blocking call "
        "yields to a hub: each of N processes serves up to M connections at once on one OS "
        "thread, one greenlet per request, and a request that computes without yielding stops "
        "every other greenlet of its process."
    )
    capacity_formula = "workers × worker_connections"
    task_kind = "greenlet"
    task = "a greenlet spawned for the connection, gone when it closes"
    params = (
        Param("workers", "worker processes", 1, 1, 16),
        Param("connections", "green connections per worker", 1000, 1, 10_000),
    )

    def capacity(self, params: dict[str, int]) -> int:
        return params["workers"] * params["connections"]

    def slots_per_process(self, params: dict[str, int]) -> int:
        return params["connections"]

    def tree_size(self, params: dict[str, int]) -> int:
        return params["workers"] + 1

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return python_module(
            "gunicorn",
            "--bind", f"{host}:{port}",
            "--worker-class", "gevent",
            "--workers", str(params["workers"]),
            "--worker-connections", str(params["connections"]),
            "--backlog", "1024",
            "--no-control-socket",
            "--graceful-timeout", "2",
            "--timeout", "120",
            "--log-level", "warning",
            "workload:create_app()",
        )  # fmt: skip
