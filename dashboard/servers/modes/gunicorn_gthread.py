"""gunicorn's threaded worker: N processes, each with a pool of M threads."""

from __future__ import annotations

from dashboard.servers.mode import Mode, Param, python_module


class GunicornGthread(Mode):
    name = "gunicorn-gthread"
    title = "gunicorn gthread (workers × threads)"
    sentence = (
        "gunicorn forks N worker processes, each running requests on a pool of M threads: "
        "N × M at once, but threads of one process share one GIL, and a worker keeps accepting "
        "connections while its threads are busy, so one worker can queue what another could serve."
    )
    capacity_formula = "workers × threads"
    task = "a thread of the worker's ThreadPoolExecutor, reused from request to request"
    params = (
        Param("workers", "worker processes", 2, 1, 16),
        Param("threads", "threads per worker", 4, 1, 64),
    )

    def capacity(self, params: dict[str, int]) -> int:
        return params["workers"] * params["threads"]

    def slots_per_process(self, params: dict[str, int]) -> int:
        return params["threads"]

    def tree_size(self, params: dict[str, int]) -> int:
        return params["workers"] + 1

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return python_module(
            "gunicorn",
            "--bind", f"{host}:{port}",
            "--worker-class", "gthread",
            "--workers", str(params["workers"]),
            "--threads", str(params["threads"]),
            "--no-control-socket",
            "--config", "python:workload.gunicorn_conf",
            "--graceful-timeout", "2",
            "--log-level", "warning",
            "workload:create_app()",
        )  # fmt: skip
