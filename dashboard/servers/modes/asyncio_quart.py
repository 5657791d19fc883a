"""asyncio: the workload's endpoints as a Quart app under Hypercorn, one event loop."""

from __future__ import annotations

from dashboard.servers.mode import LawCase, Mode, listen_backlog, python_module


class AsyncioQuart(Mode):
    name = "asyncio"
    order = 80
    title = "asyncio (Quart on Hypercorn)"
    sentence = (
        "The same endpoints written as async Quart views under Hypercorn: each request is an "
        "asyncio task on one event loop in one OS thread, so thousands can await I/O at once "
        "with no pool to fill, but a view that computes without awaiting freezes every other."
    )
    capacity_formula = "unbounded (a new asyncio task per request)"
    other_python = (
        "Quart and Hypercorn run on the project's Python only (one thread runs "
        "every asyncio task, so none waits on a GIL)"
    )
    task_kind = "asyncio"
    task = "an asyncio task made by Hypercorn for the request (Task-N), gone after it"
    law_cases = (
        LawCase({}, 20, 300, None, "a new task per request"),
        LawCase({}, 500, 1000, None, "one OS thread", tested=False),
    )

    def capacity(self, params: dict[str, int]) -> None:
        return None

    def slots_per_process(self, params: dict[str, int]) -> None:
        return None

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return python_module(
            "workload.asgi_server", "--host", host, "--port", str(port), "--backlog", str(listen_backlog())
        )
