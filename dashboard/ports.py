"""The dashboard's own ports, tried before gunicorn starts.

gunicorn meets a busy port by logging "Connection in use" and retrying five times a second apart,
then exits 1 with no word of why; a busy collector port fails in the worker, after the page's
port is taken, with a traceback (exit 3). Trying both first lets run.py say which flag to change,
in one line, before anything starts. A port can still be taken between the try and gunicorn's
bind; gunicorn's own message covers that rare race.
"""

from __future__ import annotations

import errno
import socket

from dashboard.addresses import family, host_port
from dashboard.collector.udp import COLLECTOR_HOST
from dashboard.config import Config


class PortUnavailable(RuntimeError):
    """A port of the dashboard cannot be bound; the message names the flag and what to do."""


def check_ports(config: Config) -> None:
    """PortUnavailable unless the page's TCP port, and a collector's UDP port chosen by flag, can
    be bound now (as gunicorn binds: SO_REUSEADDR, so a port left in TIME_WAIT is free)."""
    try:
        _bind(config.host, config.port, socket.SOCK_STREAM)
    except OSError as exc:
        where = f"{config.host}:{config.port}"
        if exc.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"--port {config.port}: {where} is already in use (another dashboard?); stop what"
                " listens there, or give a free port with --port"
            ) from None
        raise PortUnavailable(
            f"--host {config.host} --port {config.port}: cannot listen on {where} ({exc.strerror});"
            " give an address of this machine with --host and a free port above 1023 with --port"
        ) from None
    host = config.collector_host
    if config.replay is not None or not (config.collector_port or host != COLLECTOR_HOST):
        return  # a replay has no collector; port 0 is any, on an address surely ours
    try:
        _bind(host, config.collector_port, socket.SOCK_DGRAM)
    except OSError as exc:
        where = f"UDP {host_port(host, config.collector_port)}"
        if exc.errno != errno.EADDRINUSE:
            raise PortUnavailable(
                f"--collector-host {host}: {where} cannot be bound ({exc.strerror}); give an address of"
                " this machine with --collector-host"
            ) from None
        raise PortUnavailable(
            f"--collector-port {config.collector_port}: {where} is already in use (another dashboard with"
            " --attach?); stop what holds it, or give a free port with --collector-port (and the same"
            " port in your servers' THREADPULSE_COLLECTOR)"
        ) from None


def _bind(host: str, port: int, kind: socket.SocketKind) -> None:
    with socket.socket(family(host), kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
