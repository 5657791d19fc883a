"""Validation shared by the API and the CLI: a clear message, and nothing changes."""

from __future__ import annotations

import math

import pytest

from dashboard.loadspec.limits import MAX_COUNT, BadLoadRequest, Burst, parse_burst
from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import get_mode


def test_a_burst_becomes_the_workload_path_it_will_request():
    assert parse_burst({"endpoint": "io", "count": 3, "ms": 400}) == Burst("io", 3, 400)
    assert Burst("io", 1, 400).path() == "/io?ms=400"
    assert Burst("mixed", 1, 301).path() == "/mixed?io_ms=150&cpu_ms=151"
    assert Burst("hello", 1, 0).path() == "/hello"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "io",
        {"endpoint": "http://example.com/", "count": 1, "ms": 1},
        {"endpoint": "io", "count": 0, "ms": 1},
        {"endpoint": "io", "count": MAX_COUNT + 1, "ms": 1},
        {"endpoint": "io", "count": 1.5, "ms": 1},
        {"endpoint": "io", "count": True, "ms": 1},
        {"endpoint": "io", "count": "3", "ms": 1},
        {"endpoint": "io", "count": 1, "ms": -1},
        {"endpoint": "io", "count": 1, "ms": math.inf},
        {"endpoint": "io", "count": 1, "ms": 10**30},
        {"endpoint": "io", "count": 500, "ms": 60_000},
        {"endpoint": "io", "count": 1, "ms": 1, "url": "http://elsewhere"},
    ],
)
def test_bursts_that_cannot_be_fired_are_refused_with_a_message(body):
    with pytest.raises(BadLoadRequest) as caught:
        parse_burst(body)
    assert str(caught.value)


def test_mode_parameters_are_validated_with_bounds_in_the_message():
    mode = get_mode("gunicorn-gthread")
    assert mode.validate({"workers": 1}) == {"workers": 1, "threads": 4}
    assert mode.capacity({"workers": 2, "threads": 3}) == 6
    for bad in ({"workers": 0}, {"workers": 1.0}, {"threads": "4"}, {"threads": 10**9}, {"processes": 2}):
        with pytest.raises(BadServerRequest):
            mode.validate(bad)
    for name in ("nope", None, 3, "../../bin/sh"):
        with pytest.raises(BadServerRequest, match="gunicorn-gthread"):
            get_mode(name)
