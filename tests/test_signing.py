"""Signed datagrams (issue 21): a collector with a key takes a datagram only signed with that key,
once, and while fresh; every source signs in its one send path when THREADPULSE_KEY is set."""

from __future__ import annotations

import socket
import time

import pytest

from dashboard.collector.guard import ReplayGuard
from tests.support import Dashboard, wait_for
from threadpulse_agent.protocol import ProtocolError, Source, decode, encode, queue_event
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source, parse_collector
from threadpulse_agent.signing import ENV_KEY, Sealer, body_of, key_from_env, unseal

KEY = b"k" * 32
BODY = encode(Source("h", 1, "m", "worker"), 0, 0, 0, [])


def test_a_sealed_datagram_opens_with_its_key_and_with_no_other():
    """HMAC-SHA256 over the sender, counter, send time and body: any other key, a byte changed or
    an envelope cut short is `bad_signature`; no envelope at all is `unsigned`."""
    sealer = Sealer(KEY)
    sealed = sealer.seal(BODY, wall_ns=5)
    opened = unseal(KEY, sealed)
    assert opened == (sealer.sender, 1, 5, BODY)
    assert unseal(KEY, sealer.seal(BODY)).counter == 2
    assert body_of(sealed) == BODY == body_of(BODY)  # a keyless collector reads either
    refusals = [
        (b"another key, not the one it was sealed with", sealed, "bad_signature"),
        (KEY, sealed[:-2] + b"0}", "bad_signature"),
        (KEY, sealed[:40], "bad_signature"),
        (KEY, BODY, "unsigned"),
    ]
    for key, data, reason in refusals:
        with pytest.raises(ProtocolError) as refused:
            unseal(key, data)
        assert refused.value.reason == reason


def test_the_guard_takes_each_counter_once_and_only_while_fresh():
    """A datagram captured and sent again is `replayed` while its sender is remembered, `stale`
    once out of the window; a restarted process (same pid) is a new sender, not a replay."""
    guard = ReplayGuard(window_s=60, max_senders=2)
    now = 10**18
    first, second = Sealer(KEY), Sealer(KEY)
    one, two = (unseal(KEY, first.seal(BODY, now)) for _ in range(2))
    assert guard.refusal(one, now) is None
    assert guard.refusal(two, now) is None
    assert guard.refusal(one, now) == "replayed"
    assert guard.refusal(unseal(KEY, second.seal(BODY, now)), now) is None
    assert guard.refusal(unseal(KEY, first.seal(BODY, now - 61 * 10**9)), now) == "stale"
    assert guard.refusal(unseal(KEY, first.seal(BODY, now + 61 * 10**9)), now) == "stale"
    assert guard.refusal(unseal(KEY, Sealer(KEY).seal(BODY, now)), now) == "too_many_sources"
    later = now + 61 * 10**9  # both senders silent for a window: forgotten, room for a new one
    assert guard.refusal(unseal(KEY, Sealer(KEY).seal(BODY, later)), later) is None
    assert guard.refusal(one, later) == "stale"


def test_a_reporter_signs_every_datagram_when_its_environment_holds_the_key(monkeypatch):
    """The one send path signs, so the agent, the load generator and any sampler that sends
    through a Reporter sign alike; the key is THREADPULSE_KEY's text, stripped."""
    monkeypatch.setenv(ENV_KEY, " " + KEY.decode() + "\n")
    assert key_from_env() == KEY
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        recorder = Recorder()
        reporter = Reporter(sock.getsockname(), local_source("test", "worker"), recorder)
        reporter.start()
        recorder.add(queue_event(1, 3))
        reporter.stop()
        opened = unseal(KEY, sock.recv(65_535))
    assert decode(opened.body).events[0].depth == 3
    assert abs(opened.wall_ns - time.time_ns()) < 60 * 10**9


@pytest.mark.integration
def test_a_keyed_dashboard_counts_a_burst_exactly_and_drops_what_is_not_signed_by_reason(tmp_path):
    """With --key-file the managed server and the load generator sign (the dashboard hands them
    the key), so a burst is counted exactly; a datagram unsigned, signed with another key, sent
    twice or sent long ago is dropped, counted by reason on /api/state and /metrics, and changes
    nothing else."""
    key_file = tmp_path / "key"
    key_file.write_text(KEY.decode() + "\n")
    dash = Dashboard("--key-file", str(key_file), "--workers", "1", "--threads", "4")
    try:
        dash.wait_serving()
        dash.wait_processes(1)
        run = dash.wait_run(dash.fire("io", 8, 200))
        assert (run["state"], run["sent"], run["done"], run["failed"], run["peak_busy"]) == (
            "done",
            8,
            8,
            0,
            4,
        )
        before = dash.get("/api/state").json()
        assert before["collector"]["rejected"] == {}

        address = parse_collector(dash.get("/api/health").json()["collector"])
        loadgen = encode(Source("h", 4_000_000, "loadgen", "loadgen"), 0, 0, 0, [])
        worker = encode(Source("h", 4_000_001, "m", "worker"), 0, 0, 0, [], [])
        signed = Sealer(KEY).seal(loadgen)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for data in (
                worker,  # unsigned
                Sealer(b"another key, not the dashboard's").seal(worker),
                signed,  # taken (a load generator's datagram with no events changes nothing)...
                signed,  # ...and sent again
                Sealer(KEY).seal(worker, time.time_ns() - 3600 * 10**9),  # an hour old
            ):
                sock.sendto(data, address)
        wanted = {"unsigned": 1, "bad_signature": 1, "replayed": 1, "stale": 1}

        def counted():
            state = dash.get("/api/state").json()
            return state if state["collector"]["rejected"] == wanted else None

        after = wait_for(counted, what=f"rejects {wanted}")
        assert [p["pid"] for p in after["processes"]] == [p["pid"] for p in before["processes"]]
        assert after["counters"] == before["counters"]
        assert [s["id"] for s in after["servers"]] == [s["id"] for s in before["servers"]]
        metrics = dash.get("/metrics").text
        for reason in wanted:
            assert f'threadpulse_collector_rejected_total{{reason="{reason}"}} 1.0' in metrics
    finally:
        dash.stop_leaving_nothing(10)
