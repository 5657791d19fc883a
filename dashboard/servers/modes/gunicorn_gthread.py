"""gunicorn's threaded worker: N processes, each with a pool of M threads."""

from __future__ import annotations

from dashboard.servers.mode import LawCase, WorkersTimesThreads
from dashboard.servers.modes.gunicorn_args import gunicorn


class GunicornGthread(WorkersTimesThreads):
    name = "gunicorn-gthread"
    order = 40
    title = "gunicorn gthread (workers × threads)"
    sentence = (
        "gunicorn forks N worker processes, each running requests on a pool of M threads: "
        "N × M at once, but threads of one process share one GIL, and a worker keeps accepting "
        "connections while its threads are busy, so one worker can queue what another could serve."
    )
    task = "a thread of the worker's ThreadPoolExecutor, reused from request to request"
    law_cases = (
        LawCase({"workers": 1, "threads": 4}, 12, 400, 4, "the pool-law test's case"),
        # A worker accepts while its threads are busy, so one can queue what another could serve.
        LawCase({"workers": 2, "threads": 4}, 16, 500, 8, "uneven accept (gunicorn #908)", tested=False),
    )

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return gunicorn(host, port, "gthread", params["workers"], "--threads", str(params["threads"]))
