#!/usr/bin/env python3
"""Start the Threadpulse dashboard and a workload server for it to watch: the managed demo server,
your own server's command after `--` (run with the agent injected), or servers that report on
their own (--attach)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard import __version__
from dashboard.cli.run_config import (
    ATTACH_COLLECTOR_PORT,
    MIN_KEY_BYTES,
    BadFlag,
    config_from_flags,
    mode_params,
)
from dashboard.config import (
    DASHBOARD_WORKERS,
    DEFAULT_CAP_MB,
    DEFAULT_HOST,
    DEFAULT_MODE,
    DEFAULT_PORT,
    DEFAULT_THREADS,
    DEFAULT_WORKER,
    SPEEDS,
    Config,
)
from dashboard.ports import PortUnavailable, check_ports
from dashboard.recording.reader import DEFAULT_MAX_EVENTS
from dashboard.scenes.talk import DEFAULT_TALK
from dashboard.servers.modes import REGISTRY
from dashboard.web.audience import AUDIENCE_PATH
from dashboard.web.auth import ENV_TOKEN
from threadpulse_agent.signing import ENV_KEY


def parse_args(argv: list[str]) -> Config:
    """The dashboard's Config from command-line flags, with the files they name read (a replay, the
    talk) and the presenter token resolved; exits with argparse's message and code 2 on bad flags,
    before anything starts."""
    own, command = _split_command(argv)
    parser = build_parser()
    args = parser.parse_args(own)
    try:
        return config_from_flags(args, command)
    except BadFlag as exc:
        parser.error(str(exc))


def build_parser() -> argparse.ArgumentParser:
    """Every flag, its type, default and help: what `--help` shows. Parsing only: no file read."""
    parser = argparse.ArgumentParser(
        usage="%(prog)s [OPTIONS] [-- COMMAND ARGS...]",
        description="Threadpulse: watch the threads of a Flask server live, and fire load at it.",
        epilog="Your own app: `%(prog)s -- gunicorn -w 2 --threads 4 myapp:app` runs your server's command"
        " unchanged, in the current directory (or --chdir) and your own environment, with the agent"
        " injected (a sitecustomize on PYTHONPATH); the dashboard finds the address it listens on. The"
        " managed demo server is then started too only if --mode is given. Ctrl-C stops both.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address the dashboard listens on (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"dashboard port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--mode",
        default=None,
        choices=sorted(REGISTRY),
        help=f"server mode of the managed demo server at start (default {DEFAULT_MODE}); with -- COMMAND or"
        " --attach, the demo server runs beside yours only when --mode is given",
    )
    parser.add_argument(
        "--chdir", metavar="DIR", help="where the COMMAND after -- runs (default: the current directory)"
    )
    parser.add_argument(
        "--target",
        metavar="URL",
        help="the base URL of the COMMAND's server, http://host:port (default: found from the sockets it"
        " listens on); with --attach, the attached server load from the page may go to",
    )
    parser.add_argument(
        "--python",
        metavar="PYTHON",
        help="the interpreter the managed server runs on: free-threaded (the build of `make"
        " free-threaded`) or the path of any Python 3.10+ (its Flask and gunicorn installed into a"
        " venv of it on first use); default: the project's own",
    )
    parser.add_argument(
        "--attach",
        action="store_true",
        help="listen only, for servers started elsewhere with THREADPULSE_COLLECTOR=udp://127.0.0.1:PORT"
        f" set (PORT: --collector-port, default {ATTACH_COLLECTOR_PORT} with --attach; and {ENV_KEY} when"
        " the dashboard has a key); see README",
    )
    for name, (param, modes) in mode_params().items():
        parser.add_argument(
            f"--{name}",
            type=int,
            default=None,
            help=f"{param.title}, {param.minimum}..{param.maximum}, for {', '.join(modes)} "
            "(default: the mode's own, see GET /api/modes)",
        )
    parser.add_argument(
        "--collector-host",
        default=DEFAULT_HOST,
        metavar="ADDR",
        help=f"address the agents' UDP collector listens on (default {DEFAULT_HOST}: only this machine's"
        " agents reach it); any other address (0.0.0.0, a LAN address) needs a key (--key-file)",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="FILE",
        help=f"the key agents sign their datagrams with (HMAC-SHA256): the file's text, at least"
        f" {MIN_KEY_BYTES} bytes once stripped (make one: openssl rand -hex 32 > FILE), or env"
        f" {ENV_KEY}; unsigned, wrongly signed and replayed datagrams are then dropped. The servers,"
        f" commands and load generators the dashboard starts get it as {ENV_KEY}; give it to servers"
        " started elsewhere the same way",
    )
    parser.add_argument(
        "--collector-port",
        type=int,
        default=None,
        help=f"UDP port agents report to (default: any free port; {ATTACH_COLLECTOR_PORT} with --attach)",
    )
    parser.add_argument(
        "--dashboard-worker",
        default=DEFAULT_WORKER,
        choices=DASHBOARD_WORKERS,
        help="the dashboard's own server: gevent (a greenlet per connection, HTTP requests on OS threads)"
        " or gthread (an OS thread per open connection, pages included; about that many pages lock"
        f" everyone else out) (default {DEFAULT_WORKER})",
    )
    parser.add_argument(
        "--dashboard-threads",
        type=int,
        default=None,
        help="OS threads of the dashboard's server: under gevent those that run HTTP requests"
        f" (default {DEFAULT_THREADS['gevent']}), under gthread one per open connection"
        f" (default {DEFAULT_THREADS['gthread']})",
    )
    parser.add_argument(
        "--token",
        help=f"presenter token: only pages holding it may fire load or switch servers (or env {ENV_TOKEN},"
        " which other users cannot read from the process list); on a non-loopback --host one is"
        " generated and its presenter URL printed if none is given",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another origin (e.g. https://talk.example) whose pages may connect; repeatable",
    )
    parser.add_argument(
        "--scenes",
        type=Path,
        default=DEFAULT_TALK,
        metavar="FILE",
        help="the talk: a TOML file of scenes (default: the article's, scenes/talk.toml; see docs/scenes.md)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the dashboard's address as the audience reaches it, http(s)://host[:port][/path] (behind a"
        f" proxy or on a venue network); the stage's QR code points at URL{AUDIENCE_PATH}. Default:"
        " http://HOST:PORT from --host and --port, where a 0.0.0.0 or :: --host is replaced by this"
        " machine's first non-loopback address",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record every event from start to FILE (JSON lines, gzipped if .gz; see docs/recording.md)",
    )
    parser.add_argument(
        "--record-cap-mb",
        type=int,
        default=DEFAULT_CAP_MB,
        metavar="MB",
        help=f"a recording stops at this many MB, uncompressed (default {DEFAULT_CAP_MB}); also the"
        " largest file --replay reads",
    )
    parser.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="serve a recording instead of a live server: same page and API, no workload server, no load",
    )
    parser.add_argument(
        "--replay-max-events",
        type=int,
        default=DEFAULT_MAX_EVENTS,
        metavar="N",
        help=f"the most events --replay holds (default {DEFAULT_MAX_EVENTS:,}); a replay keeps every event"
        " in memory, about 0.1-2 KB each (docs/benchmarks.md), so this bounds it as --record-cap-mb"
        " bounds the file",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help=f"replay speed at start, {SPEEDS[0]:g} to {SPEEDS[1]:g} (default 1)",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    return parser


def _split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """The dashboard's own flags, and the user's server command after the first `--`."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, check the ports are free, then serve until stopped."""
    config = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        check_ports(config)
    except PortUnavailable as exc:
        print(f"{Path(sys.argv[0]).name}: error: {exc}", file=sys.stderr)  # argparse's prog
        sys.exit(2)  # as argparse exits on a bad flag
    from dashboard.serve import DashboardServer

    DashboardServer(config).run()


if __name__ == "__main__":
    main()
