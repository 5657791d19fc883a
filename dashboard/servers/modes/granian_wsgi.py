"""Granian, a server written in Rust: N worker processes, each running WSGI calls on M threads."""

from __future__ import annotations

from dashboard.servers.mode import LawCase, WorkersTimesThreads, listen_backlog, python_module


class GranianWsgi(WorkersTimesThreads):
    name = "granian"
    order = 55
    title = "Granian WSGI (workers × blocking threads)"
    sentence = (
        "Granian, written in Rust, forks N worker processes whose Rust runtime reads the requests "
        "and hands each WSGI call to one of M blocking threads: N × M at once, threads of a "
        "process share its GIL, and each worker listens on a socket of its own, so the kernel "
        "can queue a connection at a busy worker while another idles."
    )
    task = "a blocking thread of a Granian worker (started by Rust, so Python calls it Dummy-N)"
    law_cases = (
        LawCase({"workers": 1, "threads": 4}, 12, 300, 4),
        # Each worker has its own SO_REUSEPORT socket and the kernel picks one by a hash of the
        # connection, not by which is free: measured 0.93-1.51 s where the law says 0.9 s.
        # tests/test_granian.py holds 2 × 2 to the bounds that hashing allows.
        LawCase({"workers": 2, "threads": 2}, 12, 300, 4, "hashed accept (SO_REUSEPORT)", tested=False),
    )

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        """Granian's own backpressure (connections a worker accepts) stays at its default: it
        counts connections, not requests, so at the thread count a keep-alive client's spare
        connections would wait unserved for as long as the others stay open."""
        return python_module(
            "granian",
            "--interface", "wsgi",
            "--host", host,
            "--port", str(port),
            "--workers", str(params["workers"]),
            "--blocking-threads", str(params["threads"]),
            "--backlog", str(listen_backlog()),
            "--no-ws",
            # A switch's SIGTERM: workers still busy after 2 s are killed, inside the guard's grace.
            "--workers-kill-timeout", "2",
            "--log-level", "warning",
            "workload.wsgi:application",
        )  # fmt: skip
