"""Each host's monotonic clock, aligned to the dashboard's: the times another host's sources send
(when a request began, when a thread was sampled) are on that host's clock, which counts from its
own boot (or its time namespace's), thousands of seconds away from this one.

The offset (this clock − that one) is estimated from every datagram's send stamp `t` against the
time it was received here, as NTP's clock filter does: receive − send is the offset plus the
datagram's delay, and the delay is never negative, so the smallest value seen is the closest to
the truth. It is the minimum over a sliding window (BUCKETS × BUCKET_NS of receive time): it moves
down at once, and up only when the lows age out, so a host that restarts (its clock starts again
near zero) is followed within the window. The dashboard's own host needs no estimate (one clock):
its times are taken exactly as sent. Pure: fed the receive times of the event log, so a replay
aligns as the live dashboard did.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import replace
from typing import Any

from threadpulse_agent.protocol import Datagram

BUCKET_NS = 5_000_000_000
BUCKETS = 6  # a host whose clock jumped is followed within 30 s
MAX_HOSTS = 256  # hosts whose estimate is kept (the least recently heard of is forgotten)


class HostClock:
    """The offset of one host's clock from the dashboard's, min-filtered over a sliding window."""

    def __init__(self) -> None:
        self._lows: deque[tuple[int, int]] = deque(maxlen=BUCKETS)  # (bucket, least receive − send)
        self.offset: int | None = None  # add it to the host's times to read them on this clock

    def observe(self, sent_ns: int, received_ns: int) -> int:
        """Take one datagram's stamps; the estimate now."""
        delay = received_ns - sent_ns
        bucket = received_ns // BUCKET_NS
        if self._lows and self._lows[-1][0] == bucket:
            self._lows[-1] = (bucket, min(self._lows[-1][1], delay))
        else:
            self._lows.append((bucket, delay))
        while self._lows[0][0] <= bucket - BUCKETS:
            self._lows.popleft()
        self.offset = min(low for _, low in self._lows)
        return self.offset


class Clocks:
    """Every other host's clock; the dashboard's own (`host`) is left as it is."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.hosts: OrderedDict[str, HostClock] = OrderedDict()

    def aligned(self, datagram: Datagram, received_ns: int) -> Datagram:
        """The datagram with its send stamp and its events' times on the dashboard's clock."""
        host = datagram.source.host
        if host == self.host:
            return datagram
        clock = self.hosts.pop(host, None) or HostClock()
        self.hosts[host] = clock
        if len(self.hosts) > MAX_HOSTS:
            self.hosts.popitem(last=False)
        offset = clock.observe(datagram.sent_ns, received_ns)
        events = tuple(_shifted(event, offset) for event in datagram.events)
        return replace(datagram, sent_ns=datagram.sent_ns + offset, events=events)


def _shifted(event: Any, offset: int) -> Any:
    """An event with its time (`t_ns`, every kind has one) moved by `offset`."""
    return event._replace(t_ns=event.t_ns + offset)
