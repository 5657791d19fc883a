"""Granian, a server written in Rust: N worker processes, each running WSGI calls on M threads;
installed on first use (on_demand.py)."""

from __future__ import annotations

from dashboard.files import PROJECT_ROOT
from dashboard.servers.mode import LawCase, WorkersTimesThreads, listen_backlog, python_module
from dashboard.servers.on_demand import Extra


class GranianWsgi(WorkersTimesThreads):
    name = "granian"
    order = 55
    title = "Granian WSGI (workers × blocking threads)"
    sentence = (
        "Granian, written in Rust, forks N worker processes whose Rust runtime reads the requests "
        "and hands each WSGI call to one of M blocking threads: N × M at once, threads of a "
        "process share its GIL. A worker accepts a connection only while it has a thread free "
        "(its backpressure), so a burst spreads evenly, but a kept-alive connection holds its "
        "place while it stays open."
    )
    # A 6.9 MB wheel, half of what a first `make run` downloads: installed when the mode is first chosen.
    extra = Extra("Granian", PROJECT_ROOT / "requirements-granian.txt", "a 6.9 MB wheel, a few seconds")
    task = "a blocking thread of a Granian worker (started by Rust, so Python calls it Dummy-N)"
    # On a free-threaded Python Granian runs its workers as threads of one process (its MTServer):
    # the manager, waiting for a master and worker processes that never came, ended it after 20 s
    # (issue 20). There it is one process whose workers' blocking threads are all its slots.
    workers_as_threads_without_gil = True
    law_cases = (
        LawCase({"workers": 2, "threads": 2}, 12, 300, 4),
        LawCase({"workers": 1, "threads": 4}, 12, 300, 4, "one worker", tested=False),
    )

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        """Backpressure (the connections a worker holds at once) at the thread count: at its default
        (backlog / workers) a worker accepts while its threads are busy, as gunicorn's gthread does
        (#908): one took 10 of a burst of 12, and a 16-request burst on 2 × 2 peaked at 2 busy.
        Granian counts connections, not requests, so a client keeping more connections open than
        the server has threads leaves the rest waiting."""
        return python_module(
            "granian",
            "--interface", "wsgi",
            "--host", host,
            "--port", str(port),
            "--workers", str(params["workers"]),
            "--blocking-threads", str(params["threads"]),
            "--backpressure", str(params["threads"]),
            "--backlog", str(listen_backlog()),
            "--no-ws",
            # A switch's SIGTERM: workers still busy after 2 s are killed, inside the guard's grace.
            "--workers-kill-timeout", "2",
            "--log-level", "warning",
            "workload.wsgi:application",
        )  # fmt: skip
