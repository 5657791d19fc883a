#!/usr/bin/env python3
"""Start the Threadpulse dashboard and a workload server for it to watch: the managed demo server,
your own server's command after `--` (run with the agent injected), or servers that report on
their own (--attach)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from dashboard.config import (
    DASHBOARD_WORKERS,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_THREADS,
    DEFAULT_WORKER,
    MAX_THREADS,
    Config,
)
from dashboard.ports import PortUnavailable, check_ports
from dashboard.recording.fileformat import DEFAULT_CAP_MB
from dashboard.recording.reader import DEFAULT_MAX_EVENTS, MAX_EVENTS_CAP, RecordingError, read_recording
from dashboard.recording.replay import SPEEDS
from dashboard.scenes.talk import DEFAULT_TALK, TalkError, load_talk
from dashboard.servers.mode import BadServerRequest, Param
from dashboard.servers.modes import DEFAULT_MODE, REGISTRY, get_mode
from dashboard.web.audience import AUDIENCE_PATH, parse_public_url
from dashboard.web.auth import ENV_TOKEN, resolve_token

ATTACH_COLLECTOR_PORT = 8051  # a fixed port that servers started elsewhere can be told once


def _mode_params() -> dict[str, tuple[Param, list[str]]]:
    """Every mode parameter a flag can set (--workers, --threads, --pool, ...), with its modes."""
    params: dict[str, tuple[Param, list[str]]] = {}
    for mode in REGISTRY.values():
        for param in mode.params:
            params.setdefault(param.name, (param, []))[1].append(mode.name)
    return params


def parse_args(argv: list[str]) -> Config:
    """The dashboard's Config from command-line flags; exits with a message on bad flags."""
    argv, command = _split_command(argv)
    parser = argparse.ArgumentParser(
        prog="run.py",
        usage="%(prog)s [OPTIONS] [-- COMMAND ARGS...]",
        description="Threadpulse: watch the threads of a Flask server live, and fire load at it.",
        epilog="Your own app: `run.py -- gunicorn -w 2 --threads 4 myapp:app` runs your server's command"
        " unchanged, in the current directory (or --chdir) and your own environment, with the agent"
        " injected (a sitecustomize on PYTHONPATH); the dashboard finds the address it listens on. The"
        " managed demo server is then started too only if --mode is given. Ctrl-C stops both.",
    )
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
        "--attach",
        action="store_true",
        help="listen only, for servers started elsewhere with THREADPULSE_COLLECTOR=udp://127.0.0.1:PORT"
        f" set (PORT: --collector-port, default {ATTACH_COLLECTOR_PORT} with --attach); see README",
    )
    for name, (param, modes) in _mode_params().items():
        parser.add_argument(
            f"--{name}",
            type=int,
            default=None,
            help=f"{param.title}, {param.minimum}..{param.maximum}, for {', '.join(modes)} "
            "(default: the mode's own, see GET /api/modes)",
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
        default=os.environ.get(ENV_TOKEN),
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
    args = parser.parse_args(argv)
    if args.collector_port is None:
        args.collector_port = ATTACH_COLLECTOR_PORT if args.attach else 0
    if args.chdir and not command:
        parser.error("--chdir is for the COMMAND after --")
    if args.target and not (command or args.attach):
        parser.error("--target is for the COMMAND after -- or for --attach")
    if args.chdir and not os.path.isdir(args.chdir):
        parser.error(f"--chdir {args.chdir[:80]!r} is not a folder")
    if args.target and not re.fullmatch(r"http://[^/\s]+/?", args.target):
        parser.error(f"--target must look like http://127.0.0.1:8000, got {args.target[:80]!r}")
    if not 0 < args.port < 65536:
        parser.error(f"--port must be from 1 to 65535, got {args.port}")
    if not 0 <= args.collector_port < 65536:
        parser.error(f"--collector-port must be from 0 to 65535, got {args.collector_port}")
    threads = (
        DEFAULT_THREADS[args.dashboard_worker] if args.dashboard_threads is None else args.dashboard_threads
    )
    if not 1 <= threads <= MAX_THREADS:
        parser.error(f"--dashboard-threads must be from 1 to {MAX_THREADS}, got {threads}")
    for origin in args.allowed_origin:
        if not re.fullmatch(r"https?://[^/\s]+", origin):
            parser.error(f"--allowed-origin must look like https://host:port, got {origin[:80]!r}")
    public_url = None
    if args.public_url is not None:
        try:
            public_url = parse_public_url(args.public_url)
        except ValueError as exc:
            parser.error(f"--public-url {args.public_url[:80]!r}: {exc}")
    if not 1 <= args.record_cap_mb <= 100_000:
        parser.error(f"--record-cap-mb must be from 1 to 100000, got {args.record_cap_mb}")
    if not 1 <= args.replay_max_events <= MAX_EVENTS_CAP:
        parser.error(
            f"--replay-max-events must be from 1 to {MAX_EVENTS_CAP:,}, got {args.replay_max_events}"
        )
    if not SPEEDS[0] <= args.speed <= SPEEDS[1]:
        parser.error(f"--speed must be from {SPEEDS[0]:g} to {SPEEDS[1]:g}, got {args.speed:g}")
    if args.replay is not None and args.record is not None:
        parser.error("--record and --replay do not go together: a replay has no live events")
    replay = None
    if args.replay is not None:
        try:
            replay = read_recording(args.replay, args.record_cap_mb << 20, args.replay_max_events)
        except RecordingError as exc:
            parser.error(f"--replay: {exc}")
        if replay.warning:
            print(f"warning: {replay.warning}", file=sys.stderr)
    try:
        token, generated = resolve_token(args.token, args.host)
    except ValueError as exc:
        parser.error(str(exc))
    mode = get_mode(args.mode or DEFAULT_MODE)
    given = {name: getattr(args, name) for name in _mode_params() if getattr(args, name) is not None}
    try:
        params = mode.startable(given)
    except BadServerRequest as exc:
        parser.error(str(exc))
    try:
        scenes = load_talk(args.scenes)
    except TalkError as exc:
        parser.error(str(exc))
    return Config(
        host=args.host,
        port=args.port,
        mode=mode.name,
        server_params=params,
        collector_port=args.collector_port,
        dashboard_worker=args.dashboard_worker,
        dashboard_threads=threads,
        open_browser=not args.no_browser,
        token=token,
        token_generated=generated,
        allowed_origins=tuple(args.allowed_origin),
        scenes=scenes,
        public_url=public_url,
        record=args.record,
        record_cap_mb=args.record_cap_mb,
        replay=replay,
        speed=args.speed,
        command=tuple(command),
        chdir=os.path.abspath(args.chdir) if args.chdir else None,
        target=args.target.rstrip("/") if args.target else None,
        attach=args.attach,
        managed=args.mode is not None or not (command or args.attach),
    )


def _split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """The dashboard's own flags, and the user's server command after the first `--`."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def main(argv: list[str] | None = None) -> None:
    config = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        check_ports(config)
    except PortUnavailable as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        sys.exit(2)  # as argparse exits on a bad flag
    from dashboard.serve import DashboardServer

    DashboardServer(config).run()


if __name__ == "__main__":
    main()
