"""gunicorn's gevent worker: N processes, each serving up to M connections on greenlets."""

from __future__ import annotations

from dashboard.servers.mode import LawCase, Mode, Param
from dashboard.servers.modes.gunicorn_args import gunicorn


class GunicornGevent(Mode):
    name = "gunicorn-gevent"
    order = 70
    title = "gunicorn gevent (workers × green connections)"
    sentence = (
        "gunicorn's gevent worker monkey-patches the standard library so every blocking call "
        "yields to a hub: each of N processes serves up to M connections at once on one OS "
        "thread, one greenlet per request, and a request that computes without yielding stops "
        "every other greenlet of its process."
    )
    capacity_formula = "workers × connections"
    other_python = (
        "gevent does not support free-threading (its greenlets need the GIL); "
        "it runs on the project's Python only"
    )
    task_kind = "greenlet"
    task = "a greenlet spawned for the connection, gone when it closes"
    params = (
        Param("workers", "worker processes", 1, 1, 16),
        Param("connections", "green connections per worker", 1000, 1, 10_000),
    )
    law_cases = (
        LawCase({"workers": 1, "connections": 4}, 12, 300, 4),
        LawCase({"workers": 1, "connections": 1000}, 500, 1000, 1000, "one OS thread", tested=False),
    )

    def capacity(self, params: dict[str, int]) -> int:
        return params["workers"] * params["connections"]

    def slots_per_process(self, params: dict[str, int]) -> int:
        return params["connections"]

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return gunicorn(
            host, port, "gevent", params["workers"],
            "--worker-connections", str(params["connections"]),
        )  # fmt: skip
