"""uWSGI: a master and N worker processes, each with M threads; installed on first use (on_demand.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dashboard.files import PROJECT_ROOT
from dashboard.servers.mode import LawCase, WorkersTimesThreads, listen_backlog
from dashboard.servers.on_demand import Extra


def _uwsgi() -> str:
    """The uwsgi binary of this virtual environment (pip builds it there)."""
    beside = Path(sys.executable).with_name("uwsgi")
    return str(beside) if beside.exists() else shutil.which("uwsgi") or "uwsgi"


class Uwsgi(WorkersTimesThreads):
    name = "uwsgi"
    order = 50
    title = "uWSGI (processes × threads)"
    sentence = (
        "uWSGI's master forks N worker processes that each run M threads and take requests "
        "straight from the shared socket (--http-socket): N × M at once; threads of a process "
        "share its GIL, as under gunicorn gthread."
    )
    other_python = "uWSGI embeds the Python it was compiled with (the project's), so it cannot take another"
    # Compiled from source (no wheels): installed when the mode is first chosen, not by `make run`.
    extra = Extra("uWSGI", PROJECT_ROOT / "requirements-uwsgi.txt", "compiled from source, ~20 s on 2 cores")
    task = "a thread of a uWSGI worker (made by uWSGI in C, so Python calls it Dummy-N)"
    law_cases = (
        LawCase({"workers": 1, "threads": 4}, 12, 300, 4),
        # Even in practice (a thread accepts only when free), but not a promise the test holds.
        LawCase({"workers": 2, "threads": 4}, 16, 500, 8, "two workers", tested=False),
    )

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return [
            _uwsgi(),
            "--http-socket", f"{host}:{port}",
            "--master",
            "--processes", str(params["workers"]),
            "--threads", str(params["threads"]),
            "--enable-threads",
            "--lazy-apps",  # each worker imports the app itself: its agent starts after the fork
            "--die-on-term",
            # uWSGI waits 60 s by default for a worker that ignores its SIGINT (seen with one still
            # loading the app): as long as gunicorn's graceful timeout, and the guard's grace after.
            "--worker-reload-mercy", "2",
            "--reload-mercy", "2",
            "--listen", str(listen_backlog()),
            "--module", "workload.wsgi:application",
            "--disable-logging",
            "--need-app",
        ]  # fmt: skip
