"""Every error answer of the dashboard is JSON, also the ones gunicorn makes before Flask runs."""

from __future__ import annotations

import json
import socket

import pytest

TOO_LONG = {
    "414": b"GET /api/state?" + b"x" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "431 many": b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    + b"".join(b"X-%d: 1\r\n" % i for i in range(120))
    + b"\r\n",
    "431 long": b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n",
    "400": b"GARBAGE <script>\r\n\r\n",
}


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of the answer to raw `request` bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *fields = head.decode("latin-1").split("\r\n")
    headers = dict(field.lower().split(": ", 1) for field in fields)
    return int(status.split()[1]), headers, body


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(TOO_LONG))
def test_requests_gunicorn_refuses_before_flask_get_a_json_error(dashboard, case):
    """Issue 10: a 414 for an over-long URL came back as HTML, not JSON (gunicorn's own page)."""
    status, headers, body = exchange(dashboard.port, TOO_LONG[case])
    assert status == int(case.split()[0])
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert error and len(error) <= 300
    assert dashboard.get("/api/health").json()["ok"]
