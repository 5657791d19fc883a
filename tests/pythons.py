"""The user's Pythons the agent supports, each with a venv holding a small app's stack (Flask,
gunicorn and its gevent worker) at pinned versions, for the per-Python tests (issue 19).

The venvs are made by the tests themselves, with wheels from pip's cache, and kept outside the
checkout in a folder named after the Python and the pins, as mod_wsgi's daemons' venv is
(dashboard/servers/modes/mod_wsgi.py): the first run costs seconds a Python, later ones nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The machine must have each of these; 3.14 is tested too when it has one.
REQUIRED = ("3.9", "3.10", "3.11", "3.12", "3.13")
OPTIONAL = ("3.14",)
PYENV = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "threadpulse" / "pythons"


@dataclass(frozen=True)
class Stack:
    """What a user's venv holds, and the flags its gunicorn needs beside the test's own."""

    pins: tuple[str, ...]
    gunicorn_flags: tuple[str, ...]


# The project's own pins (requirements.txt); gunicorn 27 opens a control socket in the home
# folder unless told not to.
CURRENT = Stack(
    ("Flask==3.1.3", "Werkzeug==3.1.9", "gunicorn==27.0.1", "packaging==26.4", "gevent==26.9.0"),
    ("--no-control-socket",),
)
# gunicorn 24+ and gevent 26 need Python 3.10: a 3.9 user has the last that run there.
STACKS = {"3.9": Stack(("Flask==3.1.3", "Werkzeug==3.1.9", "gunicorn==23.0.0", "gevent==25.9.1"), ())}


def versions() -> tuple[str, ...]:
    """The Pythons to test: every required one, and the optional ones this machine has."""
    return REQUIRED + tuple(v for v in OPTIONAL if find(v) is not None)


def find(version: str) -> Path | None:
    """pyenv's newest `version` (X.Y), else `pythonX.Y` on PATH."""
    found = [p for p in PYENV.glob(f"versions/{version}.*/bin/python") if _patch(p) is not None]
    if found:
        return max(found, key=_patch)
    which = shutil.which(f"python{version}")
    return Path(which) if which else None


def interpreter(version: str) -> Path:
    """The Python `version`, or a failure saying how to get it (never a skip)."""
    python = find(version)
    assert python is not None, (
        f"no Python {version} here: the agent must be tested on it; install it with pyenv "
        f"(pyenv install {version}) or your system's packages (python{version})"
    )
    return python


def stack(version: str) -> Stack:
    return STACKS.get(version, CURRENT)


def app_venv(version: str) -> Path:
    """The venv of Python `version` with its stack installed, wheels only."""
    return kept_venv(version, stack(version).pins, "--only-binary", ":all:")


def kept_venv(version: str, pins: Sequence[str], *pip_flags: str) -> Path:
    """A venv of Python `version` with `pins` installed, made on first use (under a lock, so
    parallel runs share it) and found again by the Python's path and the pins."""
    python = interpreter(version)
    key = hashlib.sha256("\n".join([str(python), *pins]).encode()).hexdigest()[:12]
    home = CACHE / f"{version}-{key}"
    ready = home / ".ready"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{home.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            shutil.rmtree(home, ignore_errors=True)  # a build cut short
            _run([str(python), "-m", "venv", str(home)])
            pip = [
                str(home / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ]
            _run([*pip, *pip_flags, *pins])
            ready.write_text("\n".join(pins) + "\n")
    return home


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}"


def _patch(python: Path) -> int | None:
    """The patch number of a pyenv version folder (3.9.18 -> 18); None for 3.13t and the like."""
    match = re.fullmatch(r"\d+\.\d+\.(\d+)", python.parent.parent.name)
    return int(match[1]) if match else None
