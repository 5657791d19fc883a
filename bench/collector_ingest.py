"""How many events a second the collector folds into the model on one core, and what it loses.

A sender process on the other core sends synthetic agent datagrams (begin/end pairs, tagged, 80
events each as the agent batches them) at fixed rates, then as fast as it can. The collector runs
here, pinned to one core, exactly as in the dashboard (its receiving thread: socket, decode, model;
the /proc rounds run on a thread of their own).
Targets: at least 100,000 events/s; no loss up to 50,000/s; beyond, every loss counted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import NamedTuple

from bench.common import interleaved, median, on_cpu, parser, report, spawned, table
from dashboard.collector.udp import Collector
from dashboard.model.store import Store
from threadpulse_agent.protocol import EVENTS_PER_DATAGRAM, Source, begin_event, encode, end_event
from threadpulse_agent.reporter import this_host

COLLECTOR_CPU, SENDER_CPU = 0, 1
RATES = (10_000, 50_000, 100_000, 0)  # events/s; 0: as fast as the sender can
TARGET_RATE, LOSSLESS_UP_TO = 100_000, 50_000
SETTLE_S = 1.0
TASKS = 8


def events() -> list[list]:
    """One datagram's events: begin/end pairs on TASKS tasks, tagged as the load generator tags."""
    out: list[list] = []
    now = time.monotonic_ns()
    for i in range(EVENTS_PER_DATAGRAM // 2):
        out.append(begin_event(i % TASKS + 1, now, i, "GET", "/io", f"r1/{i}/{now - 1000}"))
        out.append(end_event(i % TASKS + 1, now + 1000, i, "200"))
    return out


def send(port: int, rate: int, seconds: float) -> None:
    """The sender process: datagrams at `rate` events/s (0: flat out), then one closing datagram
    whose sequence number is the count sent."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    source = Source(this_host(), os.getpid(), "bench", "worker")  # this host's: its /proc is sampled
    batch = events()
    interval = EVENTS_PER_DATAGRAM / rate if rate else 0.0
    start = time.monotonic()
    seq = 0
    while (now := time.monotonic()) < start + seconds:
        if interval and now < start + seq * interval:
            time.sleep(min(0.002, start + seq * interval - now))
            continue
        try:
            sock.sendto(encode(source, seq, 0, time.monotonic_ns(), batch), ("127.0.0.1", port))
        except OSError:
            pass  # counted as lost by the receiver, through the gap in sequence numbers
        seq += 1
    # A last datagram after a pause closes any gap at the tail, so every loss shows as a gap.
    time.sleep(SETTLE_S / 2)
    sock.sendto(encode(source, seq, 0, time.monotonic_ns(), []), ("127.0.0.1", port))


def one_rate(rate: int, seconds: float) -> dict:
    """Run the sender once at `rate` against a fresh collector; its figures."""
    store = Store()
    collector = Collector(store)
    collector.start()
    port = collector.sock.getsockname()[1]
    argv = on_cpu(SENDER_CPU, [sys.executable, "-m", "bench.collector_ingest", "--send", f"{port},{rate}"])
    argv += ["--seconds", str(seconds)]
    timeline: list[Sample] = []
    tid = collector.receiver_id
    try:
        with spawned(argv) as proc:
            deadline = time.monotonic() + seconds + 10
            while proc.poll() is None and time.monotonic() < deadline:
                timeline.append(Sample(time.monotonic(), _folded(store), *_schedstat(tid)))
                time.sleep(0.05)
            time.sleep(SETTLE_S)
    finally:
        collector.stop()
    sent, received, lost = store.use(
        lambda m: (
            max((p.last_seq for p in m.processes.values()), default=0),
            m.done * 2,  # one `end` per begin/end pair
            sum(p.lost for p in m.processes.values()) * EVENTS_PER_DATAGRAM,
        )
    )
    sent *= EVENTS_PER_DATAGRAM
    return {
        "sent": sent,
        "received": received,
        "lost": sent - received,
        "counted": lost,
        "offered": sent / seconds,
        **_busy_span(timeline),
    }


def _folded(store: Store) -> int:
    return store.use(lambda m: m.done) * 2


class Sample(NamedTuple):
    t: float
    folded: int
    cpu_ns: int  # the collector thread's time on a core so far
    wait_ns: int  # ... and runnable but waiting for one (another process had it)


def _schedstat(tid: int) -> tuple[int, int]:
    with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
        cpu, wait, _ = f.read().split()
    return int(cpu), int(wait)


def _busy_span(timeline: list[Sample]) -> dict[str, float]:
    """Over the span where the count kept rising: events folded per second of wall time and per
    second of the collector thread's own CPU, and its share of the core it was pinned to."""
    rising = [s for s, before in zip(timeline[1:], timeline, strict=False) if s.folded > before.folded]
    if len(rising) < 2 or rising[-1].t <= rising[0].t:
        return {"ingest": 0.0, "per_cpu_s": 0.0, "cpu_share": 0.0, "wait_share": 0.0}
    a, b = rising[0], rising[-1]
    wall, events = b.t - a.t, b.folded - a.folded
    cpu = (b.cpu_ns - a.cpu_ns) / 1e9
    return {
        "ingest": events / wall,
        "per_cpu_s": events / cpu if cpu else 0.0,
        "cpu_share": cpu / wall,
        "wait_share": (b.wait_ns - a.wait_ns) / 1e9 / wall,
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="length of each sending run")
    p.add_argument("--send", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.send:
        port, rate = (int(x) for x in args.send.split(","))
        send(port, rate, args.seconds)
        return 0
    os.sched_setaffinity(0, {COLLECTOR_CPU % (os.cpu_count() or 1)})  # before the collector's thread
    rounds, seconds, rates = (
        (1, 0.5, (LOSSLESS_UP_TO, 0)) if args.quick else (args.rounds, args.seconds, RATES)
    )
    runs = interleaved(rounds, {rate: lambda r=rate: one_rate(r, seconds) for rate in rates})
    rows = []
    for rate, results in runs.items():
        loss = median([100 * r["lost"] / r["sent"] if r["sent"] else 0.0 for r in results])
        counted = all(r["counted"] == r["lost"] for r in results)
        ingest = median([r["ingest"] for r in results])
        per_cpu_s = median([r["per_cpu_s"] for r in results])
        if rate == 0:
            verdict = "met" if per_cpu_s >= TARGET_RATE else "NOT met"
            target = f"≥ {TARGET_RATE:,} events/s"
        elif rate <= LOSSLESS_UP_TO:
            verdict = "met" if all(r["lost"] == 0 for r in results) else "NOT met"
            target = "no loss"
        else:
            verdict = "met" if counted else "NOT met"
            target = "losses counted"
        rows.append(
            [
                f"{rate:,}/s" if rate else "flat out",
                median([r["offered"] for r in results]),
                ingest,
                per_cpu_s,
                f"{median([r['cpu_share'] for r in results]) * 100:.0f}% / "
                f"{median([r['wait_share'] for r in results]) * 100:.0f}%",
                f"{loss:.2f}%",
                "yes" if counted else "no",
                target,
                verdict,
            ]
        )
    columns = [
        "offered rate",
        "offered events/s",
        "folded events/s",
        "per CPU-second",
        "core used / waited for",
        "lost",
        "every loss counted",
        "target",
        "",
    ]
    body = (
        f"{table(columns, rows)}\n\n"
        "Collector's receiving thread (socket, decode, model; its /proc rounds on a thread of their own) "
        f"pinned to core {COLLECTOR_CPU}; "
        f"sender process on core {SENDER_CPU} sending {EVENTS_PER_DATAGRAM}-event datagrams; "
        f'{rounds} rounds of {seconds:g} s per rate, interleaved; medians. "folded" is measured '
        'while the count rises, so at fixed rates it equals the offered rate. "Per CPU-second" '
        "divides by the collector thread's own time on the core (its schedstat): what one core "
        "takes when the machine's other tenants leave it alone, and what the flat-out target is "
        'judged on; "waited for" is its time runnable while another process had the core. '
        "A loss is counted "
        "when the collector sees the gap in sequence numbers (`collector.lost` on the page)."
    )
    report("collector_ingest", "Collector ingest", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
