"""One burst: `count` concurrent requests, each reported as sent and replied.

Each request carries its run, index and send time (the tag header) so the agent can tell
how long it queued. Runs inside the load generator process (`generator.py`), never in the
dashboard, so that the dashboard's GIL never delays a request being sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from dashboard.loadspec.http_request import HttpRequest, tag_line
from dashboard.loadspec.limits import REQUEST_TIMEOUT_S
from threadpulse_agent.protocol import make_tag, reply_event, run_end_event, sent_event
from threadpulse_agent.recorder import Recorder


async def _one(
    host: str, port: int, wire: tuple[bytes, bytes], run: str, index: int, recorder: Recorder
) -> None:
    sent = time.monotonic_ns()
    recorder.add(sent_event(run, index, sent))
    status = 0
    writer = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(wire[0] + tag_line(make_tag(run, index, sent)) + wire[1])
            line = await reader.readline()
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                status = int(parts[1])
            await reader.read()  # the server closes when the whole reply is sent
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):  # ValueError: a line too long
        status = 0
    finally:  # also when the run is cut short: the request ends without a reply
        if writer is not None:
            writer.close()
        recorder.add(reply_event(run, index, time.monotonic_ns(), status))


async def fire(
    url: str, request: HttpRequest, run: str, count: int, recorder: Recorder, why_cut: Callable[[], str]
) -> None:
    """Send `count` requests at once and wait for every reply, or until cancelled."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    wire = request.wire(host, port, keep_alive=False)
    reason = ""
    try:
        await asyncio.gather(*(_one(host, port, wire, run, i, recorder) for i in range(count)))
    except asyncio.CancelledError:
        reason = why_cut()
    recorder.add(run_end_event(run, time.monotonic_ns(), reason))
