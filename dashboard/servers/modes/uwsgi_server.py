"""uWSGI: a master and N worker processes, each with M threads."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dashboard.servers.mode import WorkersTimesThreads


def _listen_queue() -> int:
    """uWSGI refuses to start with --listen above the kernel's somaxconn."""
    try:
        return min(1024, int(Path("/proc/sys/net/core/somaxconn").read_text()))
    except (OSError, ValueError):
        return 128


def _uwsgi() -> str:
    """The uwsgi binary of this virtual environment (pip builds it there)."""
    beside = Path(sys.executable).with_name("uwsgi")
    return str(beside) if beside.exists() else shutil.which("uwsgi") or "uwsgi"


class Uwsgi(WorkersTimesThreads):
    name = "uwsgi"
    title = "uWSGI (processes × threads)"
    sentence = (
        "uWSGI's master forks N worker processes that each run M threads and take requests "
        "straight from the shared socket (--http-socket): N × M at once; threads of a process "
        "share its GIL, as under gunicorn gthread."
    )
    capacity_formula = "processes × threads"
    task = "a thread of a uWSGI worker (made by uWSGI in C, so Python calls it Dummy-N)"

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
            "--listen", str(_listen_queue()),
            "--module", "workload.wsgi:application",
            "--disable-logging",
            "--need-app",
        ]  # fmt: skip
