"""gunicorn settings for the workload (`-c python:workload.gunicorn_conf`): hands the agent a probe
into the gthread worker's queue of accepted requests waiting for a thread."""

from __future__ import annotations

from workload.agent import probes


def post_fork(server, worker) -> None:
    """Runs in each worker right after the fork, before its thread pool exists."""

    def depth() -> int:
        pool = getattr(worker, "tpool", None)
        return pool._work_queue.qsize() if pool is not None else 0

    probes.queue_depth = depth
