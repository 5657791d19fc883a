"""The load generator's side of the wire: its `sent` and `reply` events reach the collector."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source, parse_collector


@contextmanager
def reporting_to(url: str, parser: argparse.ArgumentParser) -> Iterator[Recorder]:
    """A Recorder flushed to the collector at `url` while the block runs, and once more at its end.

    A bad address is a usage error of the command (`parser.error`), said before any load is sent.
    """
    try:
        address = parse_collector(url)
    except ValueError as exc:
        parser.error(str(exc))
    recorder = Recorder()
    reporter = Reporter(address, local_source("loadgen", "loadgen"), recorder)
    reporter.start()
    try:
        yield recorder
    finally:
        reporter.stop()
