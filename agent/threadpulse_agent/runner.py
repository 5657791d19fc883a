"""`python -m threadpulse_agent --collector udp://HOST:PORT [--key-file FILE] -- COMMAND ...`: a
server on a host the dashboard is not on, run with the agent injected exactly as `threadpulse --
COMMAND` injects it (the bootstrap folder first on PYTHONPATH, the collector in the environment),
and beside it the /proc sampler of this host (sampler.py). Like `ddtrace-run`, it hands the signals
it gets to the command and exits with the command's code.

Standard library only, Python 3.9+: it runs on the user's host, on the user's Python.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from threadpulse_agent import ENV_COLLECTOR, ENV_MODE
from threadpulse_agent.recorder import Recorder
from threadpulse_agent.reporter import Reporter, local_source, parse_collector
from threadpulse_agent.sampler import SAMPLE_INTERVAL_S, TreeSampler
from threadpulse_agent.signing import ENV_KEY

# Only its sitecustomize.py, which loads the agent by path: in an installed agent or dashboard the
# agent's parent folder is site-packages, and on the user's PYTHONPATH it would bring all of it along.
BOOTSTRAP = Path(__file__).parent / "bootstrap"
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
USAGE = "python -m threadpulse_agent --collector udp://HOST:PORT [--key-file FILE] -- COMMAND ..."


def exit_code(returncode: int) -> int:
    """A shell's exit code for a child's returncode: 128 + N for one killed by signal N."""
    return returncode if returncode >= 0 else 128 - returncode


def injected_env(collector_url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the user's command gets beside its own environment: the bootstrap folder first on
    PYTHONPATH (the user's entries kept after it), and where the agent reports."""
    environ = os.environ if environ is None else environ
    pythonpath = os.pathsep.join(p for p in (str(BOOTSTRAP), environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": pythonpath, ENV_COLLECTOR: collector_url, ENV_MODE: "launched"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m threadpulse_agent",
        usage=USAGE,
        description="Run a server with Threadpulse's agent injected, and sample this host's /proc for"
        " it, reporting to a dashboard on another host.",
    )
    parser.add_argument(
        "--collector", required=True, metavar="udp://HOST:PORT", help="the dashboard's collector"
    )
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help="a file holding the dashboard's key: every datagram is signed with it (else THREADPULSE_KEY)",
    )
    return parser


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The options and the command; a usage error (exit 2) naming what is wrong otherwise."""
    parser = _parser()
    if "--" not in argv:
        parser.parse_args(argv)  # --help, or a missing --collector, is told first
        parser.error("give the command to run after --, e.g. -- gunicorn app:app")
    split = argv.index("--")
    options, command = parser.parse_args(argv[:split]), argv[split + 1 :]
    if not command:
        parser.error("give the command to run after --, e.g. -- gunicorn app:app")
    try:
        parse_collector(options.collector)
    except ValueError as exc:
        parser.error(f"--collector: {exc}")
    if options.key_file is not None:
        try:
            options.key = Path(options.key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            parser.error(f"--key-file: cannot read {options.key_file!r} ({exc.__class__.__name__}: {exc})")
        if not options.key:
            parser.error(f"--key-file: {options.key_file!r} is empty; put the dashboard's key in it")
    else:
        options.key = None
    return options, command


def main(argv: list[str] | None = None) -> int:
    """Run the command to its end; its exit code (127 when it cannot be started, as a shell's)."""
    options, command = parse(sys.argv[1:] if argv is None else argv)
    if options.key is not None:
        os.environ[ENV_KEY] = options.key  # the command's agents sign with it, as does the sampler
    env = {**os.environ, **injected_env(options.collector)}
    try:
        proc = subprocess.Popen(command, env=env)
    except OSError as exc:
        print(f"threadpulse_agent: cannot run {command[0]!r}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    for signum in FORWARDED:
        signal.signal(signum, lambda signum, _frame: proc.send_signal(signum))
    sampler = TreeSampler()
    reporter = Reporter(
        parse_collector(options.collector),
        local_source("sampler", "sampler"),
        Recorder(),
        pollers=[sampler.poll],
        active=lambda: True,
        interval=SAMPLE_INTERVAL_S,
    )
    reporter.start()
    returncode = proc.wait()
    reporter.stop()  # its last look finds the tree gone, and says so
    return exit_code(returncode)
