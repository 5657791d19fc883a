"""`python -m bench.sustained --url URL`: the project's sustained load alone, for the benchmarks
(bench.common.run_sustained): N keep-alive connections, closed loop, for T seconds; its figures
printed as one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import nullcontext
from urllib.parse import urlsplit

from dashboard.loadgen.reporting import reporting_to
from dashboard.loadgen.sustained import sustain
from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan

MAX_CONNECTIONS = 1_000  # this command's caps; the page's are in dashboard/loadspec/plan.py
MAX_SECONDS = 3_600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="full URL, e.g. http://127.0.0.1:8001/hello")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--collector", help="udp://HOST:PORT to report sent/reply events to (optional)")
    parser.add_argument("--run", default="sustained", help="the run id the events carry")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        parser.error(f"--connections must be from 1 to {MAX_CONNECTIONS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be above 0 and at most {MAX_SECONDS}")
    parts = urlsplit(args.url)
    if parts.scheme != "http":
        parser.error("--url must be an http:// URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    plan = Plan(HttpRequest("GET", path), args.connections, args.seconds)
    with reporting_to(args.collector, parser) if args.collector else nullcontext() as recorder:
        result = asyncio.run(sustain(args.url, plan, args.run[:60], recorder))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
