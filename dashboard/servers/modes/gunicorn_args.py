"""What every gunicorn mode passes, so the modes differ only in their worker class and sizes."""

from __future__ import annotations

from dashboard.servers.mode import listen_backlog, python_module


def gunicorn(host: str, port: int, worker_class: str, workers: int, *extra: str) -> list[str]:
    """argv of gunicorn serving the workload; `extra` holds the mode's own flags.

    gunicorn 27 opens a control socket in the home folder unless told not to; a short graceful
    timeout keeps a mode switch quick; a long worker timeout lets a 60 s request finish. The config
    hands the agent the worker (the server's real shape) and gthread's queue of accepted requests.
    """
    return python_module(
        "gunicorn",
        "--bind", f"{host}:{port}",
        "--worker-class", worker_class,
        "--workers", str(workers),
        *extra,
        "--backlog", str(listen_backlog()),
        "--no-control-socket",
        "--graceful-timeout", "2",
        "--timeout", "120",
        "--log-level", "warning",
        "--config", "python:workload.gunicorn_conf",
        "workload:create_app()",
    )  # fmt: skip
