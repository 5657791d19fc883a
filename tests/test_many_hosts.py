"""Servers on other hosts (issue 21): two hosts made here (tests/hosts.py), each a network, UTS,
PID and, for h2, time namespace whose monotonic clock is 5,000 s ahead, each running the demo app
under gunicorn with `python -m threadpulse_agent --collector ... --key-file ... -- gunicorn ...`,
reporting to a dashboard whose collector listens on this host's side of h1's veth pair, with a key.

One test, as the servers take a while to start: both servers shown apart, by host, and counted
exactly under wrk run inside each host; per-thread CPU of h1's busy threads from h1's own sampler;
a request's age right on h2 though its clock is 5,000 s ahead; an unsigned datagram rejected.
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from dashboard.servers.manager import free_port
from tests.hosts import Host, hosts
from tests.support import ARTIFACTS, ROOT, Dashboard, wait_for
from tests.test_launch import COUNTING, settled_done
from threadpulse_agent.protocol import Source, encode

PORT = 8000  # each host has its own network: the same port on both
BIN = Path(sys.executable).parent


def serve(host: Host, collector: str, key: Path) -> None:
    """gunicorn 2 × 2 serving the demo app on `host`, under the runner."""
    gunicorn = [str(BIN / "gunicorn"), "-w", "2", "--threads", "2", "-b", f"{host.address}:{PORT}",
                "--no-control-socket", "workload:create_app()"]  # fmt: skip
    runner = [sys.executable, "-m", "threadpulse_agent", "--collector", collector, "--key-file", str(key)]
    host.start(*runner, "--", *gunicorn, log=ARTIFACTS / f"host-{host.netns}.log", cwd=ROOT)


def server_on(dash: Dashboard, host: str) -> dict | None:
    """The server on `host`, once both its workers have reported."""
    try:
        found = [s for s in dash.get("/api/state").json()["servers"] if s.get("host") == host]
    except requests.ConnectionError:
        return None
    return found[0] if len(found) == 1 and len(found[0]["pids"]) == 2 else None


def wrk(host: Host, path: str, seconds: int, tmp_path: Path) -> int:
    """The requests wrk, run inside `host`, wrote to its server (every one is served: wrk's
    completed count can be short by the connections in flight at its stop)."""
    script = tmp_path / "count.lua"
    script.write_text(COUNTING)
    url = f"http://{host.address}:{PORT}{path}"
    out = host.run("wrk", "-t1", "-c4", f"-d{seconds}s", "-s", str(script), url, timeout=120).stdout
    assert "Non-2xx" not in out, out
    return int(re.search(r"threadpulse sent (\d+) completed", out).group(1))


def test_two_hosts_are_shown_apart_counted_exactly_sampled_and_aligned(tmp_path):
    """Laws: done = what wrk wrote, per host; a busy thread's CPU comes from its own host's /proc
    (the dashboard cannot read it); a request's age is the dashboard's now − its begin on the
    dashboard's clock, so it lies between the times the test saw it sent and first shown; a datagram
    without the key's signature is dropped, counted as `unsigned`, and adds no process."""
    key = tmp_path / "key"
    key.write_text(secrets.token_hex(32))
    with hosts(0, 5000) as (h1, h2):
        port = free_port(h1.gateway, socket.SOCK_DGRAM)
        collector = f"udp://{h1.gateway}:{port}"
        dash = Dashboard("--attach", "--collector-host", h1.gateway, "--collector-port", str(port),
                         "--key-file", str(key))  # fmt: skip
        try:
            serve(h1, collector, key)
            serve(h2, collector, key)
            one = wait_for(lambda: server_on(dash, "h1"), 60, interval=0.2, what="h1's server")
            two = wait_for(lambda: server_on(dash, "h2"), 60, interval=0.2, what="h2's server")
            assert one["id"] != two["id"] and (one["kind"], one["capacity"]) == ("gunicorn gthread", 4)

            # h1 computes (/cpu) while h2 answers /hello; each host's own wrk counts what it wrote.
            busy: list[int] = []
            loading = threading.Thread(target=lambda: busy.append(wrk(h1, "/cpu?ms=50", 6, tmp_path)))
            loading.start()
            wait_for(lambda: hot_thread(dash, "h1"), 30, interval=0.2, what="h1's busy threads' CPU")
            hello = wrk(h2, "/hello", 3, tmp_path)
            loading.join(120)
            assert settled_done(dash, one["id"], busy[0]) == busy[0]
            assert settled_done(dash, two["id"], hello) == hello

            aged(dash, h2)

            forged = encode(Source("evil", 7, "m", "worker"), 0, 0, 1, []).hex()
            sock = "socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
            send = f"import socket; {sock}.sendto(bytes.fromhex({forged!r}), {(h1.gateway, port)!r})"
            assert h2.run(sys.executable, "-c", send).returncode == 0
            state = wait_for(lambda: unsigned(dash), 10, what="the unsigned datagram counted")
            assert not [p for p in state["processes"] if p["host"] == "evil"]
        finally:
            dash.stop_leaving_nothing()


def hot_thread(dash: Dashboard, host: str) -> bool:
    """Whether a thread of `host` serving a request has been on a CPU a twentieth of the last second
    (a low bar: six other jobs may share the two cores; the dashboard cannot read h1's /proc)."""
    state = dash.get("/api/state").json()
    return any(
        t["request"] and t["cpu_pct"] >= 5
        for p in state["processes"]
        if p["host"] == host
        for t in p["tasks"]
    )


def aged(dash: Dashboard, host: Host) -> None:
    """A 4 s /io request on `host`, its age read from the state 2 s after it was sent: between the
    time since it was first shown and the time since it was sent (50 ms allowed for alignment)."""
    client = [
        sys.executable,
        "-c",
        f"import urllib.request; urllib.request.urlopen('http://{host.address}:{PORT}/io?ms=4000').read()",
    ]
    sent = time.monotonic()
    proc = subprocess.Popen(host.argv(*client, own_pids=False))
    try:

        def in_flight():
            state = dash.get("/api/state").json()
            return [t["request"] for p in state["processes"] if p["host"] == host.name for t in p["tasks"]
                    if t["request"] and t["request"]["path"] == "/io"]  # fmt: skip

        wait_for(in_flight, 10, interval=0.05, what="the /io request shown")
        shown = time.monotonic()
        time.sleep(max(0.0, sent + 2 - time.monotonic()))  # the request's age is what is measured
        before = time.monotonic()
        (request,) = in_flight()
        after = time.monotonic()
        assert (before - shown) * 1e3 - 50 <= request["age_ms"] <= (after - sent) * 1e3 + 50, request
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()


def unsigned(dash: Dashboard) -> dict | None:
    state = dash.get("/api/state").json()
    return state if state["collector"]["rejected"].get("unsigned") else None
