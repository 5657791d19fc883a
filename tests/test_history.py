"""The timeline's spans and the charts' per-second points: append-only, numbered, bounded."""

from __future__ import annotations

from dashboard.model.history import ROUTES_PER_POINT, SERIES_KEPT, SPAN_WINDOW_NS, SPANS_KEPT, Series, Spans

MS = 1_000_000
S = 1_000_000_000


def span_fields(span: list) -> dict:
    """A span by name (the one place that knows the array's order, shared with static/js/store.js)."""
    seq, key, start_ms, end_ms, sent_ms, path, status, route = span
    return {"seq": seq, "key": key, "start_ms": start_ms, "end_ms": end_ms, "sent_ms": sent_ms}


def test_spans_since_a_number_are_only_the_new_ones_oldest_first():
    """A frame carries only what the page has not seen: spans after the number it last got."""
    spans = Spans()
    for i in range(5):
        spans.add(f"1:{i}", i * MS, (i + 1) * MS, None, "/io", "200", "/io")
    assert [span_fields(s)["seq"] for s in spans.since(3, 10 * MS, most=100)] == [4, 5]
    assert spans.since(5, 10 * MS, most=100) == []


def test_spans_since_keep_the_newest_when_more_than_most_are_new():
    """A frame is bounded: a burst larger than it sends the latest spans, not the oldest."""
    spans = Spans()
    for i in range(10):
        spans.add("1:1", i * MS, (i + 1) * MS, None, "/io", "200", "/io")
    assert [span_fields(s)["seq"] for s in spans.since(0, 20 * MS, most=3)] == [8, 9, 10]


def test_spans_that_ended_more_than_the_window_ago_are_not_sent():
    """The timeline shows the last 30 s; a newcomer does not get bars it would drop at once."""
    spans = Spans()
    spans.add("1:1", 0, 1 * S, None, "/io", "200", "/io")
    spans.add("1:1", 2 * S, 3 * S, None, "/io", "200", "/io")
    now = 1 * S + SPAN_WINDOW_NS + 1
    assert [span_fields(s)["seq"] for s in spans.since(0, now, most=100)] == [2]


def test_a_span_carries_its_times_in_ms_and_its_send_time_when_known():
    """Queue wait on the timeline is start − sent; without a tag there is no send time."""
    spans = Spans()
    spans.add("10:5", 1_500_000, 4_340_000, 1_000_000, "/io?ms=3", "200", "/io")
    spans.add("10:5", 5 * MS, 6 * MS, None, "/hello", "500", "/hello")
    first, second = (span_fields(s) for s in spans.since(0, 10 * MS, most=10))
    assert first == {"seq": 1, "key": "10:5", "start_ms": 1.5, "end_ms": 4.3, "sent_ms": 1.0}
    assert second["sent_ms"] is None


def test_spans_are_bounded_and_keep_numbering_past_the_bound():
    """Memory stays bounded under any request rate; numbers never repeat, so frames stay exact."""
    spans = Spans()
    for i in range(SPANS_KEPT + 10):
        spans.add("1:1", i, i + 1, None, "/hello", "200", "/hello")
    assert len(spans.items) == SPANS_KEPT
    assert span_fields(spans.items[0])["seq"] == 11
    assert spans.seq == SPANS_KEPT + 10


def test_a_second_is_closed_only_once_the_clock_has_passed_it():
    """A point is final when sent: requests ending within the second still land in it."""
    series = Series()
    series.roll(10 * S, 4, {})
    series.record_end(True, 2.0, 10.0, "/io")
    series.roll(10 * S + 999 * MS, 4, {})
    series.record_end(False, None, 30.0, "/hello")
    assert series.since(0) == []
    series.roll(11 * S, 4, {"7": 50.0})
    (point,) = series.since(0)
    assert (point["seq"], point["t"], point["done"], point["failed"]) == (1, 11, 1, 1)
    assert (point["capacity"], point["cpu"]) == (4, {"7": 50.0})


def test_a_point_holds_the_seconds_peaks_and_latency_split():
    """Concurrency is the peak seen in the second, not the last sample; wait and service apart."""
    series = Series()
    series.roll(0, 2, {})
    for in_service, queued in ((1, 0), (2, 5), (1, 1)):
        series.observe(in_service, queued)
    for wait, service in ((10.0, 100.0), (30.0, 100.0)):
        series.record_end(True, wait, service, "/io")
    series.roll(1 * S, 2, {})
    (point,) = series.since(0)
    assert (point["in_service"], point["queued"]) == (2, 5)
    assert point["wait_ms"] == {"p50": 10.0, "p95": 30.0, "max": 30.0}  # nearest rank: values seen
    assert point["service_ms"]["p50"] == 100.0
    series.roll(2 * S, 2, {})
    assert series.since(1)[0]["in_service"] == 0  # the next second starts empty


def test_a_point_splits_service_by_route_keeping_the_busiest_routes():
    """Issue 13, item 4: the latency chart by route; bounded, so a thousand routes cost a point
    no more than ROUTES_PER_POINT entries."""
    series = Series()
    series.roll(0, 2, {})
    for service in (10.0, 20.0, 400.0):
        series.record_end(True, None, service, "/post/<int:post_id>")
    for i in range(ROUTES_PER_POINT + 3):
        series.record_end(True, None, 1.0, f"/r{i}")
    series.roll(1 * S, 2, {})
    (point,) = series.since(0)
    assert point["routes"]["/post/<int:post_id>"] == {"n": 3, "p95": 400.0}
    assert len(point["routes"]) == ROUTES_PER_POINT


def test_series_since_sends_only_new_points_and_keeps_two_minutes():
    """Charts span 120 points; older ones are dropped, the numbering goes on."""
    series = Series()
    for second in range(SERIES_KEPT + 6):
        series.roll(second * S, None, {})
    assert len(series.points) == SERIES_KEPT
    assert [p["seq"] for p in series.since(series.seq - 2)] == [series.seq - 1, series.seq]


def test_the_open_second_reads_as_a_partial_point_without_closing_it():
    """A report made within the second a burst ended still charts it (dashboard/reports); the
    live series is not changed by the read, so frames still send the second once, closed."""
    series = Series()
    assert series.open_point(4, {}) is None  # no clock yet
    series.roll(10 * S, 4, {})
    series.record_end(True, 2.0, 10.0, "/io")
    point = series.open_point(4, {"7": 50.0})
    assert (point["seq"], point["t"], point["done"], point["partial"], point["cpu"]) == (
        1,
        11,
        1,
        True,
        {"7": 50.0},
    )
    assert series.since(0) == [] and series.seq == 0
    series.roll(11 * S, 4, {})
    assert series.since(0)[0]["done"] == 1 and "partial" not in series.since(0)[0]
