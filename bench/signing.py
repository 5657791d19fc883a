"""What signing costs: CPU per datagram to send and to take in, with a key and without.

In process, no sockets: a full datagram as the agent batches it (80 events, begin/end pairs with
tags), encoded bare and then sealed (the reporter's work per datagram), and decoded bare and then
unsealed, checked against the replay guard and decoded (the collector's). Each variant runs
BATCH datagrams a round, the variants interleaved round after round; this thread's CPU time, so
other tenants' turns on the core do not count; medians.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from bench.collector_ingest import events
from bench.common import interleaved, median, parser, report, table
from dashboard.collector.guard import ReplayGuard
from threadpulse_agent.protocol import Source, decode, encode
from threadpulse_agent.signing import Sealer, unseal

KEY = b"0123456789abcdef0123456789abcdef"
BATCH = 200


def cpu_us(work: Callable[[int], object]) -> float:
    """CPU µs per call of `work(i)`, over BATCH calls."""
    start = time.thread_time_ns()
    for i in range(BATCH):
        work(i)
    return (time.thread_time_ns() - start) / BATCH / 1e3


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=101)
    args = p.parse_args(argv)
    rounds = 5 if args.quick else args.rounds
    source, batch = Source("bench", 1, "bench", "worker"), events()
    body = encode(source, 0, 0, time.monotonic_ns(), batch)
    sealer = Sealer(KEY)
    sealed = [sealer.seal(body) for _ in range(BATCH * rounds)]
    guard, taken = ReplayGuard(), iter(sealed)

    def take(_: int) -> object:
        opened = unseal(KEY, next(taken))
        assert guard.refusal(opened, time.time_ns()) is None
        return decode(opened.body)

    runs = interleaved(
        rounds,
        {
            "send bare": lambda: cpu_us(lambda i: encode(source, i, 0, 0, batch)),
            "send signed": lambda: cpu_us(lambda i: sealer.seal(encode(source, i, 0, 0, batch))),
            "take in bare": lambda: cpu_us(lambda _: decode(body)),
            "take in signed": lambda: cpu_us(take),
        },
    )
    us = {name: median(values) for name, values in runs.items()}
    rows = [
        [side, us[f"{side} bare"], us[f"{side} signed"], us[f"{side} signed"] - us[f"{side} bare"]]
        for side in ("send", "take in")
    ]
    columns = ["per datagram", "CPU µs bare", "signed", "signing adds µs"]
    body_text = (
        f"{table(columns, rows)}\n\n"
        f"One {len(body):,}-byte datagram of 80 events (begin/end pairs, tagged), in process; "
        f"{BATCH} datagrams per variant a round, {rounds} rounds interleaved; this thread's CPU time; "
        "medians. Sending: encoding, then HMAC-SHA256 over the envelope and body "
        "(threadpulse_agent/signing.py). Taking in: decoding, then the MAC checked "
        "(`hmac.compare_digest`) and the replay guard (dashboard/collector/guard.py) before it. "
        f"Load average at the end: {os.getloadavg()[0]:.1f} (other tenants' work on the 2 cores)."
    )
    report("signing", "Signed datagrams", body_text, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
