"""What a mode needs beyond `make run`, installed on its first choice (dashboard/servers/on_demand.py,
issue 22): by real pip into a real venv, from a wheel made here (no index), so offline and quick."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import threading
import tomllib
import zipfile
from pathlib import Path

import pytest

from dashboard.files import PROJECT_ROOT
from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import REGISTRY
from dashboard.servers.modes.uwsgi_server import Uwsgi
from dashboard.servers.on_demand import MARKER, BuildFailed, Extra, step


def test_a_failed_step_says_which_and_where_its_log_is(tmp_path):
    log = tmp_path / "build.log"
    with open(log, "w") as out, pytest.raises(BuildFailed) as failed:
        step("compiling", ["make", "-f", "no-such-makefile"], tmp_path, out, print)
    assert str(failed.value) == f"compiling failed (exit 2): see the end of {log}"
    assert "no-such-makefile" in log.read_text()


def _wheel(folder: Path) -> None:
    """tpdemo 1.0, one module: a wheel is a zip with its metadata and a RECORD of hashes."""
    files = {
        "tpdemo.py": "ANSWER = 42\n",
        "tpdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tpdemo\nVersion: 1.0\n",
        "tpdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files["tpdemo-1.0.dist-info/RECORD"] = "\n".join([*record, "tpdemo-1.0.dist-info/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / "tpdemo-1.0-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


@pytest.fixture
def venv(tmp_path) -> Path:
    """A fresh venv (no pip of its own: the dashboard's pip installs into it, as on_demand does)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True)
    return tmp_path / "venv"


def _extra(tmp_path: Path, venv: Path, pin: str) -> Extra:
    (tmp_path / "wheels").mkdir(exist_ok=True)
    _wheel(tmp_path / "wheels")
    requirements = tmp_path / f"requirements-{pin}.txt"
    requirements.write_text(f"# a test's extra\n--no-index\n--find-links {tmp_path / 'wheels'}\n{pin}\n")
    return Extra("tpdemo", requirements, "a test wheel", python=venv / "bin" / "python", prefix=venv)


def _imports(venv: Path) -> bool:
    code = "import tpdemo; assert tpdemo.ANSWER == 42"
    return subprocess.run([venv / "bin" / "python", "-c", code], capture_output=True).returncode == 0


def test_an_extra_installs_once_waiting_callers_find_it_done_and_a_broken_one_is_redone(tmp_path, venv):
    """Installed on first demand with its cost said first; two demands at once install it once
    (the second waits, then finds it done); files an interrupted install left without its marker
    are not trusted: the next demand installs again."""
    extra = _extra(tmp_path, venv, "tpdemo==1.0")
    assert not extra.installed()
    assert extra.note() == "Not installed yet: choosing it installs tpdemo==1.0 first (a test wheel, once)"
    said: list[str] = []
    threads = [threading.Thread(target=extra.install, args=(said.append,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [line for line in said if line.startswith("== installing")] == [
        f"== installing {extra.pins()} (a test wheel, once; log {extra.folder / 'install.log'})"
    ]
    assert extra.installed() and extra.note() is None and _imports(venv)

    # As an install killed midway leaves it: a file missing, no marker.
    module = next(venv.glob("lib/python*/site-packages/tpdemo.py"))
    module.unlink()
    (extra.folder / MARKER).unlink()
    assert not extra.installed()
    extra.install(said.append)
    assert extra.installed() and _imports(venv)


def test_a_failed_install_is_a_clear_refusal_and_leaves_the_mode_not_installed(tmp_path, venv):
    """Bad news says what failed and where its log is, and changes nothing: still "not installed"
    (a marker is written only after pip succeeded), and the page still offers the install."""
    mode = Uwsgi()
    mode.extra = _extra(tmp_path, venv, "tpdemo==2.0")  # no such version among the wheels
    with pytest.raises(BadServerRequest) as refused:
        mode.prepare(print)
    log = mode.extra.folder / "install.log"
    assert (
        str(refused.value)
        == f"uwsgi cannot start: pip installing tpdemo failed (exit 1): see the end of {log}"
    )
    assert "tpdemo==2.0" in log.read_text()
    assert not mode.extra.installed() and not (mode.extra.folder / MARKER).exists()
    assert mode.view()["install"].startswith("Not installed yet: choosing it installs")


def test_what_make_run_leaves_out_is_each_a_modes_extra_and_bundled_in_the_wheel():
    """Issue 22: a first `make run` installs requirements.txt only; uWSGI (compiled) and Granian (a
    6.9 MB wheel, half of what it would download) come when their mode is first chosen. A pin in
    both would be downloaded anyway; an extra's file left out of the wheel would leave an installed
    threadpulse unable to install the mode."""
    extras = {mode.name: mode.extra for mode in REGISTRY.values() if mode.extra is not None}
    assert sorted(extras) == ["granian", "uwsgi"]
    runtime = (PROJECT_ROOT / "requirements.txt").read_text().lower()
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    bundled = pyproject["tool"]["hatch"]["build"]["targets"]
    for extra in extras.values():
        for pin in extra.pins().split(", "):
            assert f"\n{pin.split('==')[0].lower()}==" not in runtime, pin
        assert bundled["wheel"]["force-include"][extra.requirements.name] == (
            f"dashboard/bundled/{extra.requirements.name}"
        )
        assert f"/{extra.requirements.name}" in bundled["sdist"]["include"]
