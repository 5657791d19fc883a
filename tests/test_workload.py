"""The workload app and its agent, in process: validation, and what the middleware records."""

from __future__ import annotations

import pytest

from threadpulse_agent import ENV_COLLECTOR, instrument
from threadpulse_agent.middleware import AgentMiddleware
from threadpulse_agent.protocol import TAG_ENVIRON, Begin, End, decode_event, end_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.tasks import TaskRegistry
from workload import create_app


@pytest.fixture
def client(monkeypatch):
    monkeypatch.delenv(ENV_COLLECTOR, raising=False)
    return create_app().test_client()


@pytest.mark.parametrize(
    "path", ["/io?ms=5", "/cpu?ms=5", "/cpu-native?ms=5", "/mixed?io_ms=2&cpu_ms=2", "/hello"]
)
def test_every_endpoint_answers(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "query", ["", "ms=", "ms=-1", "ms=1.5", "ms=abc", "ms=60001", "ms=1e3", "ms=9999999999", "ms=%EF%BC%91"]
)
def test_bad_durations_get_a_400_with_a_json_error(client, query):
    reply = client.get(f"/io?{query}")
    assert reply.status_code == 400
    assert "ms" in reply.json["error"]


def test_unknown_paths_get_a_json_404(client):
    reply = client.get("/nope")
    assert reply.status_code == 404
    assert reply.json["error"]


def test_the_agent_is_a_no_op_without_a_collector(monkeypatch):
    monkeypatch.delenv(ENV_COLLECTOR, raising=False)

    def app(environ, start_response):
        return []

    assert instrument(app) is app


def test_a_bad_collector_address_is_refused_with_an_example(monkeypatch):
    monkeypatch.setenv(ENV_COLLECTOR, "http://localhost:1")
    with pytest.raises(ValueError, match="udp://"):
        instrument(lambda environ, start_response: [])


def _call(middleware, environ):
    statuses = []
    body = middleware(environ, lambda status, headers, exc_info=None: statuses.append(status))
    list(body)
    body.close()
    return statuses


def test_middleware_records_begin_and_end_with_status_and_tag():
    recorder = Recorder()

    def app(environ, start_response):
        start_response("201 Created", [])
        return [b"ok"]

    middleware = AgentMiddleware(app, recorder, TaskRegistry())
    _call(middleware, {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", TAG_ENVIRON: "r1/0/5"})
    begin, end = (decode_event(list(event)) for event in recorder.drain())
    assert isinstance(begin, Begin) and (begin.method, begin.path, begin.tag) == ("GET", "/x", "r1/0/5")
    assert isinstance(end, End) and end.request == begin.request and end.status == "201"
    assert end.t_ns >= begin.t_ns


def test_middleware_records_the_end_of_a_request_that_raises_and_reraises():
    recorder = Recorder()

    def app(environ, start_response):
        raise RuntimeError("boom")

    middleware = AgentMiddleware(app, recorder, TaskRegistry())
    with pytest.raises(RuntimeError):
        middleware({"PATH_INFO": "/x"}, lambda *a: None)
    assert [type(decode_event(e)) for e in recorder.drain()] == [Begin, End]


def test_a_status_that_is_no_text_costs_its_end_event_and_a_drop_never_an_error_in_the_app():
    """The status line is cut to its code on the reporter thread (issue 22: work off the request
    path); an app's bad status (an int) fails only there, counted as a dropped event, where it
    once raised a TypeError into the app from the agent's start_response."""
    recorder = Recorder()

    def app(environ, start_response):
        start_response(200, [])
        return [b"ok"]

    _call(AgentMiddleware(app, recorder, TaskRegistry()), {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"})
    assert [type(decode_event(list(event))) for event in recorder.drain()] == [Begin]
    assert recorder.dropped == 1


def test_a_full_buffer_drops_and_counts_instead_of_growing():
    recorder = Recorder(limit=3)
    for i in range(10):
        recorder.add(end_event(1, i, "r", "200"))
    assert len(recorder.drain()) == 3
    assert recorder.dropped == 7
