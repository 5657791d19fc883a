"""What load may ask for (plan.py, http_request.py, limits.py): each bad field is refused with a
message naming it, and a fixed rate's schedule is the law the tests and the model count by."""

from __future__ import annotations

import pytest

from dashboard.loadspec.http_request import MAX_BODY, HttpRequest, tag_line
from dashboard.loadspec.limits import BadLoadRequest, Burst, parse_burst
from dashboard.loadspec.plan import MAX_CONNECTIONS, MAX_RATE, MAX_SECONDS, Plan, parse_plan

GOOD = {"path": "/items?page=2", "connections": 4, "seconds": 10}


def test_a_burst_may_name_a_method_a_path_with_a_query_and_a_json_body():
    burst = parse_burst({"method": "POST", "path": "/items?x=1", "body": {"name": "ü"}, "count": 3})
    assert burst == Burst("", 3, 0, HttpRequest("POST", "/items?x=1", '{"name":"\\u00fc"}'))
    assert burst.label == "POST /items?x=1" and burst.path() == "/items?x=1"
    assert parse_burst({"endpoint": "io", "count": 2, "ms": 100}).http() == HttpRequest("GET", "/io?ms=100")


def test_the_request_is_written_as_http_1_1_with_its_tag_and_body():
    head, tail = HttpRequest("PUT", "/a?b=1", "[1]").wire("127.0.0.1:80", keep_alive=True)
    assert head + tag_line("r1/0/5") + tail == (
        b"PUT /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:80\r\nContent-Type: application/json\r\n"
        b"Content-Length: 3\r\nX-Threadpulse-Tag: r1/0/5\r\n\r\n[1]"
    )
    head, tail = HttpRequest("GET", "/").wire("[::1]:1", keep_alive=False)
    assert head + tail == b"GET / HTTP/1.1\r\nHost: [::1]:1\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"path": "http://elsewhere/"}, "path must be an absolute path"),
        ({"path": "//elsewhere/x"}, "path must be an absolute path"),
        ({"path": "/a b"}, "printable ASCII"),
        ({"path": "/é"}, "printable ASCII"),
        ({"path": "/a#frag"}, "printable ASCII"),
        ({"path": "/" + "a" * 2_000}, "path must be a string of 1 to 2000"),
        ({"path": 5}, "path must be a string"),
        ({"method": "TRACE"}, "method must be one of GET, POST, PUT, PATCH, DELETE, HEAD"),
        ({"method": None}, "method must be one of"),
        ({"body": {"a": 1}}, "a body goes with POST, PUT, PATCH, DELETE, not GET"),
        ({"method": "POST", "body": "x" * MAX_BODY}, f"at most {MAX_BODY} bytes"),
        ({"method": "POST", "body": float("nan")}, "NaN"),
        ({"connections": 0}, f"connections must be from 1 to {MAX_CONNECTIONS}"),
        ({"connections": MAX_CONNECTIONS + 1}, "connections must be from 1"),
        ({"connections": 2.5}, "connections must be a whole number"),
        ({"connections": True}, "connections must be a whole number"),
        ({"seconds": 0}, f"seconds must be from 1 to {MAX_SECONDS}"),
        ({"seconds": MAX_SECONDS + 1}, "seconds must be from 1"),
        ({"mode": "open"}, "mode must be one of closed, rate"),
        ({"mode": "rate"}, f"rate must be from 1 to {MAX_RATE}, got 0"),
        ({"mode": "rate", "rate": "9"}, f"rate must be a whole number from 1 to {MAX_RATE}"),
        ({"mode": "rate", "rate": MAX_RATE + 1}, f"rate must be from 1 to {MAX_RATE}"),
        ({"rate": 10}, 'rate goes with mode "rate" only'),
        ({"ramp_s": 11}, "ramp_s must be from 0 to 10"),
        ({"ramp_s": -1}, "ramp_s must be from 0"),
        ({"count": 3}, "unknown field 'count'"),
    ],
)
def test_each_bad_field_of_sustained_load_is_refused_naming_it(change, says):
    with pytest.raises(BadLoadRequest) as caught:
        parse_plan({**GOOD, **change})
    assert says in str(caught.value)


def test_without_a_ramp_a_fixed_rate_is_due_every_1_over_rate_seconds():
    plan = Plan(HttpRequest("GET", "/"), 8, 3, "rate", 100)
    assert [round(plan.due_s(k), 6) for k in range(3)] == [0.01, 0.02, 0.03]
    assert plan.scheduled() == 300 and plan.due_by(1.5) == 150


def test_a_ramp_raises_the_rate_linearly_and_the_schedule_agrees_with_its_count():
    """Due times and counts are one law: due_by(due_s(k)) == k + 1 for every k."""
    plan = Plan(HttpRequest("GET", "/"), 8, 10, "rate", 50, 4)
    assert plan.scheduled() == 50 * (10 - 2)
    assert plan.due_by(2) == 25  # a quarter of the ramp's 100 requests in its first half
    for k in range(plan.scheduled()):
        assert plan.due_by(plan.due_s(k) + 1e-9) == k + 1
    assert [plan.start_s(i) for i in range(0, 8, 2)] == [0, 1, 2, 3]
