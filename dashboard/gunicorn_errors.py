"""gunicorn's own error answers as JSON, like every other error answer of the dashboard.

gunicorn answers a request it cannot parse itself, before any WSGI app runs: a request line over
`limit_request_line` gets 414, too many or too long header fields 431, a malformed request 400.
`Worker.handle_error` (gunicorn/workers/base.py, every worker class) writes them as a fixed HTML
page through `gunicorn.util.write_error`, and offers no hook or setting to change that. So the
dashboard's process swaps that one function for `write_json_error`; the workload servers are
other processes and keep gunicorn's own.
"""

from __future__ import annotations

import json
import socket

from gunicorn import util

MAX_MESSAGE = 200  # gunicorn's message may quote the client's request line: keep it short


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """`gunicorn.util.write_error`'s signature and effect, with a JSON body `{"error": ...}`."""
    error = f"{reason}: {mesg[:MAX_MESSAGE]}" if mesg else reason
    body = json.dumps({"error": error}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    """In the process that runs gunicorn (its workers fork from it and inherit the swap)."""
    util.write_error = write_json_error
