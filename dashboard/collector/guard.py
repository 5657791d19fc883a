"""The keyed collector's door: a signed datagram is let in once, and only while it is fresh.

The envelope (threadpulse_agent/signing.py) gives each datagram its sender's random id, a counter
and a wall-clock send time, all under the MAC. A datagram sent more than WINDOW_S from the
collector's wall clock is `stale` (captured before and sent again, or a host whose clock is wrong:
run NTP there); one whose counter is not above the last one taken from its sender is `replayed`. A
sender's last counter is kept until MAX_SENDERS are held; then those silent for a window are
forgotten, since anything of theirs sent again is stale by then (only key holders are senders).
"""

from __future__ import annotations

from threadpulse_agent.signing import Opened

WINDOW_S = 60  # a send time this far from the collector's clock, either way, is refused
MAX_SENDERS = 4096


class ReplayGuard:
    """Per sender: the last counter taken and the send time of that datagram."""

    def __init__(self, window_s: float = WINDOW_S, max_senders: int = MAX_SENDERS) -> None:
        self.window_ns = int(window_s * 1e9)
        self.max_senders = max_senders
        self._last: dict[int, tuple[int, int]] = {}

    def refusal(self, opened: Opened, now_wall_ns: int) -> str | None:
        """Why the datagram is refused (`stale`, `replayed`, `too_many_sources`), or None: it is
        taken, and its counter remembered."""
        if abs(opened.wall_ns - now_wall_ns) > self.window_ns:
            return "stale"
        last = self._last.get(opened.sender)
        if last is not None and opened.counter <= last[0]:
            return "replayed"
        if last is None and len(self._last) >= self.max_senders:
            self._forget(now_wall_ns)
            if len(self._last) >= self.max_senders:
                return "too_many_sources"
        self._last[opened.sender] = (opened.counter, opened.wall_ns)
        return None

    def _forget(self, now_wall_ns: int) -> None:
        """Senders silent for a window: any datagram of theirs sent again now is stale anyway."""
        horizon = now_wall_ns - self.window_ns
        self._last = {sender: last for sender, last in self._last.items() if last[1] >= horizon}
