"""eventlet's own WSGI server: one process, one OS thread, a pool of green threads."""

from __future__ import annotations

import sys

from dashboard.servers.mode import LawCase, Mode, Param, listen_backlog

# eventlet patches before anything imports `threading` or `socket` (workload/eventlet_server.py).
BOOT = "import eventlet; eventlet.monkey_patch(); from workload.eventlet_server import main; main()"


class Eventlet(Mode):
    name = "eventlet"
    order = 60
    title = "eventlet WSGI server (green pool)"
    sentence = (
        "eventlet monkey-patches sockets and sleep so a waiting request yields to its hub: one "
        "OS thread serves up to pool-size requests at once, each on a green thread, but a request "
        "that computes never yields and stalls all the others. eventlet is in bug-fix-only "
        "maintenance and prints a deprecation warning on import (gunicorn 26 dropped -k eventlet)."
    )
    capacity_formula = "pool size"
    other_python = (
        "eventlet does not support free-threading (its green threads need the GIL); "
        "it runs on the project's Python only"
    )
    task_kind = "greenlet"
    task = "a green thread spawned from the pool for the connection, gone when it closes"
    params = (Param("pool", "green threads in the pool", 1000, 1, 10_000),)
    law_cases = (
        LawCase({"pool": 4}, 12, 300, 4),
        # The time above the law is the one thread accepting and answering 500 connections.
        LawCase({"pool": 1000}, 500, 1000, 1000, "one OS thread", tested=False),
    )

    def capacity(self, params: dict[str, int]) -> int:
        return params["pool"]

    def slots_per_process(self, params: dict[str, int]) -> int:
        return params["pool"]

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return [
            sys.executable, "-c", BOOT,
            "--host", host, "--port", str(port),
            "--pool", str(params["pool"]), "--backlog", str(listen_backlog()),
        ]  # fmt: skip
