"""`run.py`'s flags: every mode's parameters can be set at start, and bad flags stop it with a
message before anything starts, busy ports among them."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest

from dashboard import __version__
from dashboard.cli.run import build_parser, parse_args
from dashboard.cli.run_config import BadFlag, config_from_flags
from dashboard.config import Config
from dashboard.ports import PortUnavailable, check_ports
from dashboard.servers.manager import free_port
from dashboard.web.auth import ENV_TOKEN
from tests.support import ROOT, Dashboard
from threadpulse_agent.signing import ENV_KEY


@pytest.mark.parametrize(
    ("argv", "mode", "params"),
    [
        ([], "gunicorn-gthread", {"workers": 2, "threads": 4}),
        (["--workers", "1", "--threads", "8"], "gunicorn-gthread", {"workers": 1, "threads": 8}),
        (["--mode", "eventlet", "--pool", "200"], "eventlet", {"pool": 200}),
        (
            ["--mode", "gunicorn-gevent", "--connections", "50"],
            "gunicorn-gevent",
            {"workers": 1, "connections": 50},
        ),
        (["--mode", "flask-dev-serial"], "flask-dev-serial", {}),
    ],
)
def test_each_modes_parameters_come_from_flags_or_its_defaults(argv, mode, params):
    config = parse_args(argv)
    assert (config.mode, config.server_params) == (mode, params)


@pytest.mark.parametrize(
    ("argv", "worker", "threads"),
    [
        ([], "gevent", 16),
        (["--dashboard-worker", "gthread"], "gthread", 100),
        (["--dashboard-worker", "gthread", "--dashboard-threads", "1500"], "gthread", 1500),
    ],
)
def test_the_dashboards_own_server_is_green_unless_asked(argv, worker, threads):
    """Issue 10, fault 7: gthread's one thread per open connection locked a room out; its thread
    count defaults per worker (under gevent it sizes the pool that runs HTTP requests)."""
    config = parse_args(argv)
    assert (config.dashboard_worker, config.dashboard_threads) == (worker, threads)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mode", "eventlet", "--workers", "2"], "has no parameter 'workers'"),
        (["--workers", "0"], "workers must be from 1 to 16"),
        (["--threads", "65"], "threads must be from 1 to 64"),
        (["--mode", "nope"], "invalid choice"),
        (["--port", "70000"], "--port must be from 1 to 65535"),
        (["--pool", "many"], "invalid int value"),
        (["--dashboard-worker", "eventlet"], "invalid choice"),
        (["--dashboard-threads", "0"], "--dashboard-threads must be from 1 to 2000"),
        (["--target", "http://127.0.0.1:8000"], "--target is for the COMMAND after -- or for --attach"),
        (["--attach", "--target", "127.0.0.1:8000"], "--target must look like http://127.0.0.1:8000"),
        (["--chdir", "/tmp", "--attach"], "--chdir is for the COMMAND after --"),
        (["--attach", "--python", "free-threaded"], "--python is for the managed demo server"),
    ],
)
def test_bad_flags_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_attach_takes_the_url_load_may_go_to():
    """`--attach --target URL`: the attached server load from the page may go to (issue 13, item 3)."""
    config = parse_args(["--attach", "--target", "http://localhost:8000/"])
    assert (config.attach, config.target, config.command, config.managed) == (
        True,
        "http://localhost:8000",
        (),
        False,
    )


def test_parsing_flags_reads_no_file_and_makes_no_secret(tmp_path, monkeypatch):
    """Issue 18: parse_args parsed flags, read the recording and the talk and made the presenter's
    secret in one ~200-line function; parsing alone now touches nothing, and what reads the files
    refuses a missing one naming its flag."""
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    missing = tmp_path / "missing.jsonl"
    args = build_parser().parse_args(
        ["--host", "0.0.0.0", "--replay", str(missing), "--scenes", str(missing)]
    )
    assert (args.replay, args.scenes, args.token) == (missing, missing, None)
    with pytest.raises(BadFlag, match="^--replay: "):
        config_from_flags(args, [])


def refused_in_one_line(dash: Dashboard) -> str:
    """The one line a dashboard that could not start printed, once it exited with argparse's 2."""
    assert dash.proc.wait(60) == 2, dash.log()
    lines = dash.log().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_busy_dashboard_port_is_refused_in_one_line_naming_port():
    """Issue 17, fault 9: a second dashboard on a busy port printed gunicorn's raw "Connection in
    use" 11 times and exited 1 with no word of its own."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused_in_one_line(Dashboard(port=port))
    assert line.startswith(f"run.py: error: --port {port}: 127.0.0.1:{port} is already in use"), line
    assert "give a free port with --port" in line


def test_a_busy_collector_port_is_refused_in_one_line_naming_collector_port():
    """Issue 17, fault 9: `--attach` on a busy UDP port died in the worker with a traceback (exit 3)."""
    with socket.socket(type=socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        line = refused_in_one_line(Dashboard("--attach", "--collector-port", str(port)))
    assert line.startswith(f"run.py: error: --collector-port {port}: UDP 127.0.0.1:{port} is already in use")
    assert "give a free port with --collector-port" in line


def test_version_prints_the_commands_name_and_the_dashboards_version():
    """Issue 19: `threadpulse --version` (the installed command; run.py is the same parser) says which
    Threadpulse it is and exits 0, starting nothing."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"run.py {__version__}\n", "")


def test_a_collector_beyond_loopback_without_a_key_is_refused_saying_what_to_pass(monkeypatch, capsys):
    """Issue 21: a collector anyone on the network can reach must check who sends; without a key
    the start stops (exit 2) naming --key-file, and nothing listens."""
    monkeypatch.delenv(ENV_KEY, raising=False)
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--collector-host", "0.0.0.0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--collector-host 0.0.0.0 listens beyond this machine" in err
    assert "--key-file FILE (or THREADPULSE_KEY)" in err
    monkeypatch.setenv(ENV_KEY, "a key of at least sixteen bytes")
    config = parse_args(["--collector-host", "0.0.0.0"])
    assert (config.collector_host, config.key) == ("0.0.0.0", "a key of at least sixteen bytes")


def test_bad_key_files_are_refused_naming_the_file_and_how_to_make_one(tmp_path, monkeypatch):
    """A key file missing, empty, unreadable, not text or too short stops the start with what was
    wrong; --key-file wins over THREADPULSE_KEY, whose own bad values are refused alike."""
    monkeypatch.setenv(ENV_KEY, "the environment's key, not used")
    empty, short, binary, good = (tmp_path / name for name in ("empty", "short", "binary", "good"))
    empty.write_text("\n")
    short.write_text("abc\n")
    binary.write_bytes(b"\xff\xfe" * 16)
    good.write_text("  0123456789abcdef0123456789abcdef\n")
    refusals = [
        (tmp_path / "missing", "no such file; make one with `openssl rand -hex 32 > FILE`"),
        (empty, "is empty"),
        (short, "holds 3 bytes, a key needs 16 or more"),
        (binary, "does not hold text"),
        (tmp_path, "cannot read it (Is a directory)"),
    ]
    for path, message in refusals:
        with pytest.raises(BadFlag, match=re.escape(message)):
            config_from_flags(build_parser().parse_args(["--key-file", str(path)]), [])
    assert parse_args(["--key-file", str(good)]).key == "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv(ENV_KEY, "short")
    with pytest.raises(BadFlag, match=f"^{ENV_KEY} holds 5 bytes"):
        config_from_flags(build_parser().parse_args([]), [])


def test_a_collector_address_not_of_this_machine_is_refused_naming_collector_host():
    """--collector-host names where the collector binds: an address this machine does not have
    stops the start naming the flag, before anything listens."""
    config = Config(port=free_port(), collector_host="192.0.2.1", key="a key of sixteen bytes or more")
    with pytest.raises(
        PortUnavailable, match=r"^--collector-host 192\.0\.2\.1: UDP 192\.0\.2\.1:0 cannot be bound"
    ):
        check_ports(config)
