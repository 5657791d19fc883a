"""`python -m threadpulse_agent --collector ... -- COMMAND`, the runner of a server on a host the
dashboard is not on (issue 21): it injects the agent as `threadpulse -- COMMAND` does, hands its
signals to the command, exits with the command's code, samples the command's whole process tree
from /proc beside it, and refuses bad flags with a usage error naming what is wrong (exit 2)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support import udp_listener, wait_for
from threadpulse_agent.protocol import ProcessCpu, ProcessGone, ThreadCpu, decode
from threadpulse_agent.runner import BOOTSTRAP, parse
from threadpulse_agent.signing import unseal

KEY = b"0123456789abcdef-s3cret"

# The command under the runner: a thread that spins, a child process that sleeps, and a SIGTERM
# handler that ends both and exits 7 (so the runner's code is the command's, not its own).
COMMAND = """
import json, os, signal, subprocess, sys, threading
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
def spin():
    while True:
        pass
threading.Thread(target=spin, daemon=True).start()
def end(signum, frame):
    child.kill()
    child.wait()
    sys.exit(7)
signal.signal(signal.SIGTERM, end)
keys = ("PYTHONPATH", "THREADPULSE_COLLECTOR", "THREADPULSE_KEY")
told = {"pid": os.getpid(), "child": child.pid, **{k: os.environ.get(k) for k in keys}}
print(json.dumps(told), flush=True)
signal.pause()
"""


@pytest.fixture
def collector() -> Iterator[socket.socket]:
    with udp_listener(0.2) as sock:
        yield sock


def runner(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "threadpulse_agent", *args], text=True, **kwargs)


def test_the_runner_injects_samples_the_tree_forwards_signals_and_exits_with_the_commands_code(
    collector, tmp_path
):
    """The sampler's law: every process below the runner (the command, and a child it started) is
    read at the dashboard's cadence, a spinning thread's time on CPU grows, and each process is said
    gone once it exits. The command gets the agent's bootstrap first on PYTHONPATH, the collector
    and the key from --key-file, which the sampler's datagrams are signed with; SIGTERM to the
    runner reaches the command, whose code it exits with."""
    key = tmp_path / "key"
    key.write_text(KEY.decode() + "\n")
    url = f"udp://127.0.0.1:{collector.getsockname()[1]}"
    command = [sys.executable, "-c", COMMAND]
    proc = runner("--collector", url, "--key-file", str(key), "--", *command, stdout=subprocess.PIPE)
    events: list = []
    try:
        with proc.stdout:
            told = json.loads(proc.stdout.readline())
        assert told["PYTHONPATH"].split(os.pathsep)[0] == str(BOOTSTRAP)
        assert (told["THREADPULSE_COLLECTOR"], told["THREADPULSE_KEY"]) == (url, KEY.decode())
        pids = {told["pid"], told["child"]}

        def spun() -> bool:
            events.extend(read(collector))
            sampled = {e.pid for e in events if isinstance(e, ProcessCpu)}
            spins = [e.on_cpu_ns for e in events if isinstance(e, ThreadCpu) and e.pid == told["pid"]]
            return pids <= sampled and max(spins, default=0) >= 100_000_000

        wait_for(spun, timeout=30, what="the command's tree sampled, its thread 0.1 s on CPU")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 7
        wait_for(lambda: events.extend(read(collector)) or pids <= gone(events), timeout=10, what="gone")
    finally:
        proc.kill()
        proc.wait()


def read(sock: socket.socket) -> list:
    """The events of the datagrams waiting now (the first waited for up to the socket's timeout),
    every one of them from the sampler."""
    out: list = []
    for _ in range(1000):
        try:
            data = sock.recv(65_535, 0 if not out else socket.MSG_DONTWAIT)
        except (TimeoutError, BlockingIOError):
            break
        datagram = decode(unseal(KEY, data).body)  # signed with --key-file's key, or refused here
        assert datagram.source.role == "sampler"
        out += datagram.events or [None]
    return [event for event in out if event is not None]


def gone(events: list) -> set[int]:
    return {e.pid for e in events if isinstance(e, ProcessGone)}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--", "true"], "--collector"),
        (["--collector", "http://h:1", "--", "true"], "udp://127.0.0.1:9999"),
        (["--collector", "udp://h:1"], "give the command to run after --"),
        (["--collector", "udp://h:1", "--"], "give the command to run after --"),
        (["--collector", "udp://h:1", "--key-file", "/nonexistent/key", "--", "true"], "cannot read"),
        (["--collector", "udp://h:1", "--bogus", "--", "true"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_are_a_usage_error_naming_what_is_wrong(argv, says, capsys):
    """Bad input gets a clear error that names what was wrong (exit 2, argparse's usage error)."""
    with pytest.raises(SystemExit) as exited:
        parse(argv)
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_an_empty_key_file_is_refused_and_a_command_that_cannot_start_exits_127(tmp_path, collector):
    """An empty key would sign nothing: refused, naming the file. A missing command is told and exits
    127, as a shell's does, and the runner starts nothing."""
    empty = tmp_path / "key"
    empty.write_text("\n")
    url = f"udp://127.0.0.1:{collector.getsockname()[1]}"
    refused = runner("--collector", url, "--key-file", str(empty), "--", "true", stderr=subprocess.PIPE)
    assert "is empty" in refused.communicate(timeout=20)[1]
    assert refused.returncode == 2
    missing = runner("--collector", url, "--", str(tmp_path / "no-such-command"), stderr=subprocess.PIPE)
    assert "cannot run" in missing.communicate(timeout=20)[1]
    assert missing.returncode == 127
