"""Which Python a managed server runs on: the project's own, the free-threaded build, or a path.

`run.py --python` and `"python"` in `POST /api/server` name it. `free-threaded` is the build of
`make free-threaded` (free_threaded.py); a path is any interpreter the user has (a distribution's
python3.13t, one of uv or pyenv, a 3.14t). A path whose Python lacks Flask and gunicorn gets a venv
of its own, made on first use outside the checkout and kept (keyed by the interpreter and the
pins). Everything is checked before anything changes: bad input is a BadServerRequest.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dashboard.children import PROJECT_ROOT
from dashboard.servers import free_threaded
from dashboard.servers.mode import BadServerRequest, Mode
from dashboard.servers.on_demand import building

FREE_THREADED = "free-threaded"
# The modes' pins need it (gunicorn 27: 3.10); the agent itself runs on 3.9.
MIN_VERSION = (3, 10)
HOME = free_threaded.HOME.parent / "interpreters"
# Its version, and whether it has the modes' packages.
PROBE = (
    "import importlib.util as u, sys; "
    "print(*sys.version_info[:2], all(u.find_spec(m) for m in ('flask', 'gunicorn')))"
)
PROBE_TIMEOUT_S = 20


def resolve(choice: object, mode: Mode) -> Path | None:
    """The interpreter a server of `mode` runs on for `choice` (None: the project's own), its venv
    made if need be; BadServerRequest saying what was wrong and what to do."""
    if choice is None:
        return None
    check(choice, mode)
    if choice == FREE_THREADED:
        lacking = free_threaded.missing()
        if lacking:
            raise BadServerRequest(lacking)
        python = free_threaded.PYTHON
    else:
        python = _user_python(Path(choice).expanduser(), mode)
    _check_runs(mode, python)
    return python


def check(choice: object, mode: Mode) -> None:
    """What can be judged of `choice` for `mode` without running anything (a talk checks its
    scenes with it at start, when the free-threaded build may not be made yet)."""
    if not isinstance(choice, str) or not choice.strip():
        raise BadServerRequest(
            f'python must be "{FREE_THREADED}" or the path of a Python, got {choice!r}'[:200]
        )
    if mode.other_python is not None:
        raise BadServerRequest(f"{mode.name} cannot run on another Python: {mode.other_python}")


@functools.lru_cache(maxsize=32)
def gil_disabled(python: Path | None) -> bool:
    """Whether `python` (None: the project's own) is a free-threaded build: some servers take
    another shape there (Granian runs its workers as threads of one process)."""
    if python is None:
        return False
    if python == free_threaded.PYTHON:
        return True
    code = "import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var('Py_GIL_DISABLED') else 1)"
    try:
        return subprocess.run([python, "-I", "-c", code], timeout=PROBE_TIMEOUT_S).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def on_python(argv: list[str], python: Path | None) -> list[str]:
    """A mode's argv (started with the project's Python, `python_module`) run by `python` instead."""
    if python is None:
        return argv
    if argv[0] != sys.executable:
        raise BadServerRequest(f"{argv[0]} is not Python: this mode cannot run on another one")
    return [str(python), *argv[1:]]


def _check_runs(mode: Mode, python: Path) -> None:
    """`mode`'s command can start on `python`: it is a module run by our Python (`python_module`),
    and `python` has that module (granian, say, has no wheel for every free-threaded build)."""
    argv = on_python(mode.command(mode.validate({}), "127.0.0.1", 0), python)
    if argv[1:2] != ["-m"]:
        return
    module = argv[2].split(".")[0]
    code = f"import importlib.util as u, sys; sys.exit(u.find_spec({module!r}) is None)"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    if subprocess.run([python, "-c", code], env=env, capture_output=True, timeout=PROBE_TIMEOUT_S).returncode:
        raise BadServerRequest(
            f"{mode.name} needs the package {module}, which {python} lacks: install it there "
            f"({python} -m pip install {module}) or pick another mode"
        )


def _user_python(path: Path, mode: Mode) -> Path:
    """`path` itself when it has the modes' packages, else a venv of it holding them."""
    if not path.is_file() or not os.access(path, os.X_OK):
        raise BadServerRequest(f"python {path}: no executable file there; give the path of a Python")
    try:
        done = subprocess.run(
            [path, "-I", "-c", PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadServerRequest(
            f"python {path}: it does not run as a Python ({exc.__class__.__name__})"
        ) from None
    words = done.stdout.split()
    if done.returncode != 0 or len(words) != 3 or not all(w.isdecimal() for w in words[:2]):
        raise BadServerRequest(f"python {path}: not a Python 3 (it did not answer as one)")
    version = (int(words[0]), int(words[1]))
    if version < MIN_VERSION:
        raise BadServerRequest(
            f"python {path} is Python {version[0]}.{version[1]}; the modes need "
            f"{MIN_VERSION[0]}.{MIN_VERSION[1]} or newer"
        )
    return path if words[2] == "True" else _venv(path)


def _venv(python: Path) -> Path:
    """A venv of `python` holding the pinned Flask and gunicorn, made on first use and kept."""
    real = python.resolve()
    key = hashlib.sha256(f"{real}\n{free_threaded.pins()}".encode()).hexdigest()[:16]
    venv = HOME / key
    venv_python = venv / "bin" / "python"
    if (venv / ".threadpulse-ready").exists():
        return venv_python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with building(venv.parent):
        if not (venv / ".threadpulse-ready").exists():  # else made while this one waited
            _make_venv(python, venv)
    return venv_python


def _make_venv(python: Path, venv: Path) -> None:
    """Make it from scratch (what an attempt cut short left is removed first), ready marked last."""
    venv_python = venv / "bin" / "python"
    real = python.resolve()
    shutil.rmtree(venv, ignore_errors=True)
    print(
        f"== making a venv of {python} with {', '.join(free_threaded.PACKAGES)} in {venv} (once)",
        file=sys.stderr,
    )
    steps = (
        [str(python), "-m", "venv", "--without-pip", str(venv)],
        [sys.executable, "-m", "pip", "--python", str(venv_python), "install", "--quiet"]
        + ["--disable-pip-version-check", *free_threaded.constraints()]
        + list(free_threaded.PACKAGES),
    )
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise BadServerRequest(
                f"python {python} lacks Flask and gunicorn, and a venv of it with them failed "
                f"({done.stderr.strip()[-300:]}); install them into it: {python} -m pip install "
                f"{' '.join(free_threaded.PACKAGES)}"
            )
    (venv / ".threadpulse-ready").write_text(str(real))
