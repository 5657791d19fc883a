"""The agent's own distribution, threadpulse-agent (agent/pyproject.toml): the manual route of
issue 19 is `pip install` of the agent's folder into the app's venv, then `instrument`."""

from __future__ import annotations

import json
import subprocess
import time

from tests.pythons import interpreter, stack
from tests.support import ROOT, udp_listener
from threadpulse_agent.protocol import End, decode

APP = """\
import sys, threadpulse_agent
from flask import Flask
from threadpulse_agent import instrument

app = Flask(__name__)
app.get("/hello")(lambda: "hello")
app.wsgi_app = instrument(app.wsgi_app)
print(threadpulse_agent.__file__, flush=True)
for _ in range(3):
    assert app.test_client().get("/hello", buffered=True).status_code == 200  # closed: it ends
sys.stdin.read()  # alive until the test has the datagrams
"""


def _pip(venv, *args: str) -> None:
    done = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr


def _distributions(venv) -> dict[str, list | None]:
    """Every distribution of the venv and what it requires."""
    script = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name'].lower(): d.requires for d in m.distributions()}))"
    )
    return json.loads(subprocess.check_output([venv / "bin" / "python", "-c", script], text=True))


def test_pip_install_of_the_agent_folder_on_python_3_9_instruments_a_flask_app(tmp_path):
    """issue 19: the agent was `threadpulse_agent`, inside the demo app that imports Flask, and
    reachable only from Threadpulse's checkout. `pip install ./agent` into a fresh venv of the
    oldest Python supported installs threadpulse-agent alone, requiring nothing; with Flask
    beside it, `instrument` around an app reports each request it served to the collector."""
    venv = tmp_path / "venv"
    subprocess.run([interpreter("3.9"), "-m", "venv", venv], check=True, timeout=300)
    before = _distributions(venv)
    _pip(venv, str(ROOT / "agent"))
    after = _distributions(venv)
    assert {name: after[name] for name in after.keys() - before.keys()} == {"threadpulse-agent": None}

    _pip(
        venv,
        "--only-binary",
        ":all:",
        *(pin for pin in stack("3.9").pins if pin.startswith(("Flask", "Werkzeug"))),
    )
    with udp_listener(0.5) as collector:
        env = {"THREADPULSE_COLLECTOR": f"udp://127.0.0.1:{collector.getsockname()[1]}"}
        app = subprocess.Popen(
            [venv / "bin" / "python", "-c", APP],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert app.stdout.readline().startswith(str(venv / "lib" / "python3.9" / "site-packages"))
            ends: list[End] = []
            deadline = time.monotonic() + 30
            while len(ends) < 3 and time.monotonic() < deadline:
                try:
                    ends += [e for e in decode(collector.recv(65_535)).events if isinstance(e, End)]
                except TimeoutError:
                    continue
            assert [end.status for end in ends] == ["200"] * 3
        finally:
            app.communicate(timeout=30)
