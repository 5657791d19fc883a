"""gunicorn settings for the workload (`-c python:workload.gunicorn_conf`): hands the agent the
worker (so it reports the server's real shape) and, under gthread, a probe into the worker's queue
of accepted requests waiting for a thread."""

from __future__ import annotations

from threadpulse_agent import probes
from threadpulse_agent.server import note_gunicorn_worker


def post_fork(server, worker) -> None:
    """Runs in each worker right after the fork, before its thread pool exists."""
    note_gunicorn_worker(worker)
    if type(worker).__name__ != "ThreadWorker":
        return  # only gthread queues inside the worker

    def depth() -> int:
        pool = getattr(worker, "tpool", None)
        return pool._work_queue.qsize() if pool is not None else 0

    probes.queue_depth = depth
