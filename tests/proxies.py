"""Real Redis and nginx for the many-viewers tests and benchmarks (docs/deploy.md): Debian's
`redis-server` and `nginx`, each on a free port with a config of its own, stopped afterwards."""

from __future__ import annotations

import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from dashboard.servers.manager import free_port
from tests.support import ARTIFACTS, Dashboard, wait_for

# The config docs/deploy.md gives, for a proxy in front of viewer-only processes: plain round
# robin (no ip_hash, no sticky cookie), WebSocket upgrades passed through.
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream viewers {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://viewers;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen]]:
    """(redis://127.0.0.1:PORT/0, its process): a Redis of the test's own, no persistence."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / f"redis-{port}.log", "wb") as log:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: proc.poll() is not None or _listening(port), 10, what="redis-server to listen")
        assert proc.poll() is None, (ARTIFACTS / f"redis-{port}.log").read_text()
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        _stop(proc)


@contextmanager
def nginx_round_robin(upstreams: list[str]) -> Iterator[str]:
    """http://127.0.0.1:PORT: an nginx passing requests and WebSockets round robin to `upstreams`
    (host:port each), with no sticky sessions."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="threadpulse-nginx-") as folder:
        servers = "\n".join(f"        server {upstream};" for upstream in upstreams)
        conf = Path(folder) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=folder, servers=servers, port=port))
        proc = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", folder], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            wait_for(lambda: proc.poll() is not None or _listening(port), 10, what="nginx to listen")
            assert proc.poll() is None, (Path(folder) / "error.log").read_text()
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)


def viewer_process(queue: str, primary: Dashboard, timeout: float = 30) -> Dashboard:
    """A viewer-only process on `queue`, once its mirror holds the primary's view (GET /api/state
    answers)."""
    dash = Dashboard("--viewers-only", "--message-queue", queue, "--primary", primary.url)

    def seeded() -> bool:
        if dash.proc.poll() is not None:
            raise AssertionError(f"viewer-only process exited: {dash.log()}")
        try:
            return dash.get("/api/state").status_code == 200
        except requests.RequestException:
            return False

    wait_for(seeded, timeout, what="the viewer-only process to seed its mirror")
    return dash
