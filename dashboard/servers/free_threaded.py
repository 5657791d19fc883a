"""The free-threaded CPython (PEP 703, `--disable-gil`), built here from Debian's source package.

Debian 12, which the project runs on, ships no free-threaded Python, and nothing may come from
outside the package registries, so `make free-threaded` (see `prepare`) fetches Debian's
`python3.13` source package with apt, builds its upstream tarball (Debian's patches left out)
at low priority into a cache outside the checkout, and makes a venv of it holding the pinned
Flask and gunicorn, as `make mod-wsgi` does for Apache's daemons: keyed by the source version
and the pins, and never half-installed (a marker written last says a step finished; a step
without it is redone from scratch: on_demand.py's steps, which install uWSGI too).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

from dashboard.children import PROJECT_ROOT
from dashboard.servers.on_demand import BuildFailed, building, mark, ready, step

HOME = (
    Path("/var/cache/threadpulse/free_threaded")
    if os.geteuid() == 0
    else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "threadpulse" / "free_threaded"
)
VENV = HOME / "venv"
PYTHON = VENV / "bin" / "python"
PACKAGE = "python3.13"
# The suite that carries python3.13's source (Debian 13); the host's own suites may not.
SUITE = "trixie"
SOURCES = Path("/etc/apt/sources.list.d/threadpulse-python-src.sources")
SOURCES_TEXT = f"""\
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: {SUITE}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# The pins the venv's packages are held to: the dashboard's own, and those of the modes installed on
# first use that can run free-threaded (granian, where it has a free-threaded wheel).
REQUIREMENTS = (PROJECT_ROOT / "requirements.txt", PROJECT_ROOT / "requirements-granian.txt")
PACKAGES = ("Flask", "gunicorn")
OPTIONAL_PACKAGES = ("granian",)
NICE = 15


def missing() -> str | None:
    """Why the free-threaded Python cannot be used yet, said so the user can act; None if ready."""
    if not ready(VENV, _venv_key()):
        return f"the free-threaded Python is not built ({VENV}); `make free-threaded` builds it (~4 min)"
    return None


def prepare(say: Callable[[str], None] = print) -> Path:
    """Build (or find) the free-threaded interpreter and its venv; the venv's python."""
    if ready(VENV, _venv_key()):
        say(f"== the free-threaded Python is up to date ({PYTHON})")
        return PYTHON
    HOME.mkdir(parents=True, exist_ok=True)
    with building(HOME):
        if ready(VENV, _venv_key()):  # built by another run while this one waited
            say(f"== the free-threaded Python was built meanwhile ({PYTHON})")
            return PYTHON
        version = _source_version(say)
        prefix = HOME / f"python-{version}"
        if not ready(prefix, version):
            _build(version, prefix, say)
        _make_venv(prefix, say)
    return PYTHON


def _venv_key() -> str:
    """The interpreter the venv was made of and the pins it holds."""
    interpreters = sorted(str(p) for p in HOME.glob("python-*/bin/python3.13t"))
    text = "\n".join([*interpreters[-1:], pins()])
    return hashlib.sha256(text.encode()).hexdigest()


def pins() -> str:
    """The text of every pins file a venv of another Python is held to: its key hashes it."""
    return "\n".join(path.read_text() for path in REQUIREMENTS)


def constraints() -> list[str]:
    """pip's arguments holding an install to those pins."""
    return [arg for path in REQUIREMENTS for arg in ("--constraint", str(path))]


def _source_version(say: Callable[[str], None]) -> str:
    """The upstream version of python3.13 in the deb-src suite (adding that suite if need be)."""
    if not SOURCES.exists():
        if os.geteuid() != 0:
            raise BuildFailed(
                f"apt has no source of {PACKAGE}: as root, write {SOURCES} with\n{SOURCES_TEXT}"
                "then run `make free-threaded` again"
            )
        say(f"== adding Debian {SUITE}'s source packages to apt ({SOURCES})")
        SOURCES.write_text(SOURCES_TEXT)
    shown = subprocess.run(["apt-cache", "showsrc", PACKAGE], capture_output=True, text=True).stdout
    if "Version:" not in shown:
        say(f"== apt-get update (for {SUITE}'s sources)")
        _apt(["apt-get", "update", "-qq"])
        shown = _apt(["apt-cache", "showsrc", PACKAGE])
    versions = re.findall(r"^Version: (?:\d+:)?([\d.]+)", shown, re.MULTILINE)
    if not versions:
        raise BuildFailed(f"apt knows no source package {PACKAGE} (is {SOURCES} right?)")
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


def _apt(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildFailed(f"{' '.join(argv)} failed:\n{done.stderr.strip()[-2000:]}")
    return done.stdout


def _build(version: str, prefix: Path, say: Callable[[str], None]) -> None:
    """Fetch the source package, then configure, compile and install it into `prefix`."""
    work = HOME / "build"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(prefix, ignore_errors=True)
    work.mkdir()
    log = HOME / "build.log"
    started = time.monotonic()
    say(f"== building the free-threaded CPython {version} into {prefix} (~4 min on 2 cores; log {log})")
    with open(log, "w") as out:
        step(
            "fetching Debian's source package",
            ["apt-get", "source", "--download-only", PACKAGE],
            work,
            out,
            say,
        )
        tarballs = sorted(work.glob(f"{PACKAGE}_*.orig.tar.*"))
        if not tarballs:
            raise BuildFailed(f"apt-get source fetched no upstream tarball of {PACKAGE} into {work}")
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(work, filter="data")
        source = next(p for p in work.iterdir() if p.is_dir())
        nice = ["nice", "-n", str(NICE)]
        configure = ["./configure", "--disable-gil", "--without-ensurepip", f"--prefix={prefix}"]
        step("configuring", [*nice, *configure], source, out, say)
        step("compiling", [*nice, "make", f"-j{os.cpu_count() or 1}"], source, out, say)
        step("installing", [*nice, "make", "altinstall"], source, out, say)
    shutil.rmtree(work)
    mark(prefix, version)
    say(f"== built in {time.monotonic() - started:.0f} s")


def _make_venv(prefix: Path, say: Callable[[str], None]) -> None:
    """A venv of the built interpreter with the pinned packages; pip is the project's own."""
    say(f"== making the free-threaded venv {VENV} with {', '.join(PACKAGES)}")
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([prefix / "bin" / "python3.13t", "-m", "venv", "--without-pip", VENV], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(PYTHON), "install", "--quiet"]
    pip += ["--disable-pip-version-check", *constraints()]
    subprocess.run([*pip, *PACKAGES], check=True)
    pinned = pins().lower()
    for name in OPTIONAL_PACKAGES:
        if f"\n{name}==" not in pinned:
            continue
        if subprocess.run([*pip, "--only-binary", ":all:", name]).returncode != 0:
            say(f"   {name} has no free-threaded wheel: its mode runs on the project's Python only")
    mark(VENV, _venv_key())


if __name__ == "__main__":
    prepare()
