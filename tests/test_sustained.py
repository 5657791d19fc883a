"""The sustained generator (the benchmarks' closed-loop load) against real servers."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from dashboard.loadgen.http_request import HttpRequest
from dashboard.loadgen.plan import Plan
from dashboard.loadgen.sustained import sustain
from dashboard.servers.manager import answers, free_port
from dashboard.servers.modes import get_mode
from tests.support import wait_for
from workload.agent.protocol import Reply, Sent, decode_event
from workload.agent.recorder import Recorder


@pytest.fixture(params=["gunicorn-gthread", "flask-dev-serial"])
def server_url(request):
    """gthread keeps connections alive; the serial dev server (HTTP/1.0) closes every one."""
    mode = get_mode(request.param)
    port = free_port()
    proc = subprocess.Popen(mode.command(mode.validate({}), "127.0.0.1", port), stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers("127.0.0.1", port), 20, what=f"{request.param} to serve")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.integration
def test_every_request_sent_is_answered_or_counted_as_an_error(server_url):
    """Requests go one after another per connection, reopened when the server closes it."""
    recorder = Recorder()
    result = asyncio.run(sustain(server_url, Plan(HttpRequest("GET", "/hello"), 4, 0.5), "s1", recorder))
    events = [decode_event(e) for e in recorder.drain(100_000)]
    sent = [e for e in events if isinstance(e, Sent)]
    replies = [e for e in events if isinstance(e, Reply)]
    assert result["errors"] == 0
    assert result["requests"] > 4
    assert len(sent) == len(replies) == result["requests"]
    assert sorted(e.index for e in replies) == list(range(len(sent)))
    assert {e.status for e in replies} == {200}


@pytest.mark.integration
def test_error_replies_are_counted_not_timed(server_url):
    result = asyncio.run(sustain(server_url, Plan(HttpRequest("GET", "/io?ms=-1"), 2, 0.3)))
    assert result["requests"] == 0
    assert result["errors"] > 0
    assert result["p50_ms"] is None
