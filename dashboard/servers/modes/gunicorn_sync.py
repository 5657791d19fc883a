"""gunicorn's default sync worker: N processes, one request at a time each."""

from __future__ import annotations

from dashboard.servers.mode import WORKERS, LawCase, Mode
from dashboard.servers.modes.gunicorn_args import gunicorn


class GunicornSync(Mode):
    name = "gunicorn-sync"
    order = 30
    title = "gunicorn sync (workers)"
    sentence = (
        "gunicorn forks N worker processes that each serve one request at a time on their main "
        "thread: N at once, and since they are processes, N CPU-bound requests really run in "
        "parallel (up to the number of cores); the N+1th request waits in the listen queue."
    )
    capacity_formula = "workers"
    task = "the main thread of a worker process"
    params = (WORKERS,)
    # Two workers, yet the law is exact: each accepts one connection only when it is free.
    law_cases = (LawCase({"workers": 2}, 8, 300, 2),)

    def capacity(self, params: dict[str, int]) -> int:
        return params["workers"]

    def slots_per_process(self, params: dict[str, int]) -> int:
        return 1

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return gunicorn(host, port, "sync", params["workers"])
