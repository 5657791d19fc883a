"""gunicorn's threaded worker: N processes, each with a pool of M threads."""

from __future__ import annotations

from dashboard.servers.mode import WorkersTimesThreads
from dashboard.servers.modes.gunicorn_args import gunicorn


class GunicornGthread(WorkersTimesThreads):
    name = "gunicorn-gthread"
    title = "gunicorn gthread (workers × threads)"
    sentence = (
        "gunicorn forks N worker processes, each running requests on a pool of M threads: "
        "N × M at once, but threads of one process share one GIL, and a worker keeps accepting "
        "connections while its threads are busy, so one worker can queue what another could serve."
    )
    task = "a thread of the worker's ThreadPoolExecutor, reused from request to request"

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        # The config hands the agent a probe into each worker's queue of accepted requests.
        return gunicorn(
            host, port, "gthread", params["workers"],
            "--threads", str(params["threads"]),
            "--config", "python:workload.gunicorn_conf",
        )  # fmt: skip
