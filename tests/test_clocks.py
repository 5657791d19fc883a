"""The clock estimator (dashboard/model/clocks.py): another host's times read on the dashboard's
clock, estimated as the least receive − send over a sliding window (issue 21: a request's age right
on a host whose monotonic clock is thousands of seconds off); the dashboard's own host exact."""

from __future__ import annotations

from dashboard.model.clocks import BUCKET_NS, BUCKETS, Clocks, HostClock
from threadpulse_agent.protocol import Begin, Datagram, End, Source

S = 1_000_000_000
AHEAD = 5_000 * S  # the skewed test host's clock: `unshare --time --monotonic 5000`


def test_the_estimate_is_the_least_delay_seen_and_moves_down_at_once():
    """Delay is never negative: the smallest receive − send is the closest to the offset."""
    clock = HostClock()
    here = 100 * S
    assert clock.observe(here + AHEAD - 3_000_000, here) == -AHEAD + 3_000_000  # 3 ms on the way
    assert clock.observe(here + AHEAD + S - 40_000_000, here + S) == -AHEAD + 3_000_000  # 40 ms: kept 3
    assert clock.observe(here + AHEAD + 2 * S - 500_000, here + 2 * S) == -AHEAD + 500_000
    assert clock.observe(here + AHEAD + 3 * S - 90_000_000, here + 3 * S) == -AHEAD + 500_000  # stays


def test_a_host_whose_clock_restarts_is_followed_once_the_window_has_passed():
    """A host's restart starts its clock again near zero: receive − send jumps up. The estimate
    keeps the old low while it is in the window (BUCKETS buckets), then takes the new one."""
    clock = HostClock()
    here = 1_000 * S
    clock.observe(here + AHEAD, here + 1_000_000)
    restarted = here + S
    for step in range(BUCKETS * BUCKET_NS // S + BUCKET_NS // S + 1):
        now = restarted + step * S
        estimate = clock.observe(now - restarted + 2 * S, now + 1_000_000)  # its clock: 2 s since boot
    assert estimate == restarted - 2 * S + 1_000_000
    assert clock.offset == estimate


def test_another_hosts_times_are_aligned_and_the_dashboards_own_are_exact():
    """Every event's t_ns and the send stamp move by the host's offset; the tag's send time (the load
    generator's, on the dashboard's clock) does not. The dashboard's own host: nothing changes."""
    clocks = Clocks("dash")
    here = 700 * S
    remote = Datagram(
        Source("h2", 1, "launched", "worker"),
        seq=0,
        dropped=0,
        sent_ns=here + AHEAD,
        tasks=None,
        events=(
            Begin(7, here + AHEAD - 2 * S, 1, "GET", "/io", "r1/0/5"),
            End(7, here + AHEAD - S, 1, "200"),
        ),
    )
    aligned = clocks.aligned(remote, here + 2_000_000)
    assert aligned.sent_ns == here + 2_000_000
    assert [event.t_ns for event in aligned.events] == [here - 2 * S + 2_000_000, here - S + 2_000_000]
    assert aligned.events[0].tag == "r1/0/5"
    local = Datagram(Source("dash", 2, "launched", "worker"), 0, 0, here, None, remote.events)
    assert clocks.aligned(local, here + 2_000_000) is local
    assert list(clocks.hosts) == ["h2"]
