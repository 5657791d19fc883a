"""`python -m dashboard.loadgen.burst`: fire one burst of concurrent requests and report it.

Runs in its own process so that the dashboard's GIL never delays a request being sent. Each
request carries its run, index and send time (X-Threadpulse-Tag) so the agent can tell how long
it queued; the generator itself reports `sent` and `reply` events to the collector.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from urllib.parse import urlsplit

from dashboard.loadgen.limits import REQUEST_TIMEOUT_S, BadLoadRequest, parse_burst
from workload.agent.protocol import make_tag
from workload.agent.recorder import Recorder
from workload.agent.reporter import Reporter, local_source, parse_collector


async def _one(host: str, port: int, path: str, run: str, index: int, recorder: Recorder) -> None:
    sent = time.monotonic_ns()
    recorder.add(["sent", run, index, sent])
    status = 0
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                f"X-Threadpulse-Tag: {make_tag(run, index, sent)}\r\n\r\n".encode()
            )
            line = await reader.readline()
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                status = int(parts[1])
            await reader.read()  # the server closes when the whole reply is sent
            writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        pass
    recorder.add(["reply", run, index, time.monotonic_ns(), status])


async def fire(url: str, path: str, run: str, count: int, recorder: Recorder) -> None:
    """Send `count` requests at once and wait for every reply."""
    parts = urlsplit(url)
    recorder.add(["run_start", run, time.monotonic_ns(), count])
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    await asyncio.gather(*(_one(host, port, path, run, i, recorder) for i in range(count)))
    recorder.add(["run_end", run, time.monotonic_ns(), ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the workload server, e.g. http://127.0.0.1:8001")
    parser.add_argument("--collector", required=True, help="udp://HOST:PORT of the dashboard's collector")
    parser.add_argument("--run", required=True, help="the run id the dashboard gave this burst")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--ms", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        burst = parse_burst({"endpoint": args.endpoint, "count": args.count, "ms": args.ms})
        address = parse_collector(args.collector)
    except (BadLoadRequest, ValueError) as exc:
        parser.error(str(exc))
    recorder = Recorder()
    reporter = Reporter(address, local_source("loadgen", "loadgen"), recorder)
    reporter.start()
    try:
        asyncio.run(fire(args.url, burst.path(), args.run[:60], burst.count, recorder))
    finally:
        reporter.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
