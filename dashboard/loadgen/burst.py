"""One burst: `count` concurrent requests, each on a connection of its own, each reported as sent
and replied.

Each request carries its run, index and send time (the tag header) so the agent can tell
how long it queued. Runs inside the load generator process (`generator.py`), never in the
dashboard, so that the dashboard's GIL never delays a request being sent. Requests go through the
generator's one client (connection.py), as sustained load's do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from dashboard.loadgen.connection import Address, Connection, Ticket, connect
from dashboard.loadspec.http_request import HttpRequest, tag_line
from dashboard.loadspec.limits import REQUEST_TIMEOUT_S
from threadpulse_agent.protocol import make_tag, reply_event, run_end_event, sent_event
from threadpulse_agent.recorder import Recorder


async def _one(
    address: Address,
    wire: tuple[bytes, bytes],
    head_only: bool,
    run: str,
    index: int,
    recorder: Recorder,
) -> None:
    sent = time.monotonic_ns()  # before the connection is made: connecting is part of the wait
    recorder.add(sent_event(run, index, sent))

    def replied(_ticket: Ticket, status: int) -> None:
        recorder.add(reply_event(run, index, time.monotonic_ns(), status))

    connection: Connection | None = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            first = (wire[0] + tag_line(make_tag(run, index, sent)) + wire[1], (index, sent))
            connection = await connect(address, head_only, replied, Connection.close, set(), first)
            await connection.closed
    except (OSError, TimeoutError):
        pass
    finally:  # also when the run is cut short: a request in flight ends without a reply
        if connection is None:  # refused, not connected in time, or cut short before
            replied((index, sent), 0)
        else:
            connection.abort()


async def fire(
    url: str, request: HttpRequest, run: str, count: int, recorder: Recorder, why_cut: Callable[[], str]
) -> None:
    """Send `count` requests at once and wait for every reply, or until cancelled."""
    address = Address.of(url)
    wire, head_only = request.wire(address.authority, keep_alive=False), request.method == "HEAD"
    reason = ""
    try:
        await asyncio.gather(*(_one(address, wire, head_only, run, i, recorder) for i in range(count)))
    except asyncio.CancelledError:
        reason = why_cut()
    recorder.add(run_end_event(run, time.monotonic_ns(), reason))
