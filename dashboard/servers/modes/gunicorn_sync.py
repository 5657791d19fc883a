"""gunicorn's default sync worker: N processes, one request at a time each."""

from __future__ import annotations

from dashboard.servers.mode import Mode, Param, python_module


class GunicornSync(Mode):
    name = "gunicorn-sync"
    title = "gunicorn sync (workers)"
    sentence = (
        "gunicorn forks N worker processes that each serve one request at a time on their main "
        "thread: N at once, and since they are processes, N CPU-bound requests really run in "
        "parallel (up to the number of cores); the N+1th request waits in the listen queue."
    )
    capacity_formula = "workers"
    task = "the main thread of a worker process"
    params = (Param("workers", "worker processes", 2, 1, 16),)

    def capacity(self, params: dict[str, int]) -> int:
        return params["workers"]

    def slots_per_process(self, params: dict[str, int]) -> int:
        return 1

    def tree_size(self, params: dict[str, int]) -> int:
        return params["workers"] + 1

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return python_module(
            "gunicorn",
            "--bind", f"{host}:{port}",
            "--worker-class", "sync",
            "--workers", str(params["workers"]),
            "--backlog", "1024",
            "--no-control-socket",
            "--graceful-timeout", "2",
            "--timeout", "120",
            "--log-level", "warning",
            "workload:create_app()",
        )  # fmt: skip
