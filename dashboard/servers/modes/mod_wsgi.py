"""Apache with mod_wsgi in daemon mode: N daemon processes of M threads each, behind Apache.

Debian's mod_wsgi is built against Debian's Python (/usr/bin/python3), and Apache refuses to
serve as root, so the daemons run as www-data and cannot read the project's own Python or,
often, its checkout. `make mod-wsgi` (see `prepare`) builds a virtual environment from Debian's
Python holding the workload's pinned dependencies, in a folder www-data can read; each start
copies `workload/` and the agent (`threadpulse_agent/`) beside a generated Apache config and runs
Apache in the foreground, so stopping its process group stops every process of it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

import threadpulse_agent
from dashboard.addresses import host_port
from dashboard.files import PROJECT_ROOT
from dashboard.loadspec.limits import REQUEST_TIMEOUT_S
from dashboard.servers.mode import LawCase, WorkersTimesThreads, listen_backlog

APACHE = Path("/usr/sbin/apache2")
MODULES = Path("/usr/lib/apache2/modules")
SYSTEM_PYTHON = Path("/usr/bin/python3")
DEBIAN_PACKAGES = "apache2 libapache2-mod-wsgi-py3 python3-venv"
# Root's files are out of reach of the daemons' user; anyone else's Apache runs as themselves.
HOME = (
    Path("/var/cache/threadpulse/mod_wsgi")
    if os.geteuid() == 0
    else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "threadpulse" / "mod_wsgi"
)
VENV = HOME / "venv"
REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
RUN_USER = "www-data"
# Front threads beyond the daemons' capacity: they hand requests on, so they must never be the
# limit; the spare ones answer the manager's check while a burst fills the daemons.
SPARE_FRONT_THREADS = 64
STALE_S = 60


class ModWsgi(WorkersTimesThreads):
    name = "mod_wsgi"
    order = 90
    title = "mod_wsgi on Apache (processes × threads)"
    sentence = (
        "Apache's own threads accept each connection and hand the request over a Unix socket to "
        "one of N mod_wsgi daemon processes, which runs it on one of its M threads: N × M at "
        "once; the rest wait on that socket. Threads of a daemon share its GIL."
    )
    capacity_formula = "processes × threads"
    other_python = (
        "Debian's mod_wsgi is built against Debian's own Python, which Apache loads; it cannot take another"
    )
    task = "a thread of a mod_wsgi daemon process (made by mod_wsgi in C, so Python calls it Dummy-N)"
    law_cases = (
        LawCase({"workers": 1, "threads": 4}, 12, 300, 4),
        LawCase({"workers": 2, "threads": 4}, 16, 500, 8, "two daemons", tested=False),
        LawCase({"workers": 4, "threads": 64}, 500, 1000, 256, "four daemons", tested=False),
    )

    def missing(self) -> str | None:
        """Apache, mod_wsgi or the daemons' Python environment, when not set up."""
        lacking = _missing()
        return f"{lacking}; `make mod-wsgi` sets it up" if lacking else None

    def tree_size(self, params: dict[str, int]) -> int:
        """Apache's parent, its one front process, and the daemon processes."""
        return params["workers"] + 2

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        runs = _folder(HOME / "run")
        _prune(runs)
        run = Path(tempfile.mkdtemp(prefix=f"{port}-", dir=runs))
        for package in (PROJECT_ROOT / "workload", Path(threadpulse_agent.__file__).parent):
            shutil.copytree(package, run / package.name, ignore=shutil.ignore_patterns("__pycache__"))
        conf = run / "httpd.conf"
        conf.write_text(config(run, params, host, port))
        _readable(run)
        # The manager's PYTHONPATH names the checkout; without it the daemons import the copy.
        return ["/usr/bin/env", "-u", "PYTHONPATH", str(APACHE), "-D", "FOREGROUND", "-f", str(conf)]


def config(run: Path, params: dict[str, int], host: str, port: int) -> str:
    """Apache's whole configuration: nothing from /etc/apache2, so no site of the host is served.

    The daemons inherit Apache's environment, THREADPULSE_COLLECTOR included, from the manager.
    Naming both the process group and the application group preloads the app at each daemon's
    start, so every daemon reports its idle threads before the first request. A request queued
    for a daemon is cut by Apache's Timeout (a read on the daemon's socket), so it is no shorter
    than the load generator's own wait.
    """
    front = params["workers"] * params["threads"] + SPARE_FRONT_THREADS
    as_root = os.geteuid() == 0
    user = f"User {RUN_USER}\nGroup {RUN_USER}\n" if as_root else ""
    daemon_user = f" user={RUN_USER} group={RUN_USER}" if as_root else ""
    address = host_port(host, port)
    backlog = listen_backlog()
    return f"""\
ServerRoot {run}
ServerName {host}
PidFile {run}/apache.pid
DefaultRuntimeDir {run}
ErrorLog /dev/stderr
LogLevel warn
LoadModule mpm_event_module {MODULES}/mod_mpm_event.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule wsgi_module {MODULES}/mod_wsgi.so
{user}Listen {address}
ListenBacklog {backlog}
Timeout {REQUEST_TIMEOUT_S}
StartServers 1
ServerLimit 1
ThreadLimit {front}
ThreadsPerChild {front}
MaxRequestWorkers {front}
MinSpareThreads 1
MaxSpareThreads {front}
WSGIRestrictEmbedded On
WSGISocketPrefix {run}/wsgi
WSGIDaemonProcess threadpulse processes={params["workers"]} threads={params["threads"]}{daemon_user} \
python-home={VENV} python-path={run} home={run} listen-backlog={backlog} display-name=%{{GROUP}}
WSGIScriptAlias / {run}/workload/wsgi.py process-group=threadpulse application-group=%{{GLOBAL}}
<Directory {run}/workload>
    Require all granted
</Directory>
"""


def prepare(say: Callable[[str], None] = print) -> None:
    """Build the daemons' virtual environment from Debian's Python (`make mod-wsgi` calls this).

    Only Flask and what it needs, at the versions requirements.txt pins; rebuilt when the pins
    change.
    """
    if not _installed():
        raise SystemExit(f"Apache or mod_wsgi is missing: apt-get install -y {DEBIAN_PACKAGES}")
    if VENV.joinpath(".pins").exists() and VENV.joinpath(".pins").read_text() == _pins():
        say(f"== mod_wsgi's Python environment is up to date ({VENV})")
        return
    say(f"== building mod_wsgi's Python environment from {SYSTEM_PYTHON} in {VENV} (~15 s)")
    shutil.rmtree(VENV, ignore_errors=True)
    _folder(HOME)
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", VENV], check=True)
    pip = [VENV / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--constraint", REQUIREMENTS, "Flask"], check=True)
    _readable(VENV)
    VENV.joinpath(".pins").write_text(_pins())


def _missing() -> str | None:
    """What keeps the mode from starting, said so the user can act on it; None when ready."""
    if not _installed():
        return f"Apache or mod_wsgi is not installed (Debian packages {DEBIAN_PACKAGES})"
    pins = VENV / ".pins"
    if not pins.exists():
        return f"its Python environment ({VENV}) is not built"
    if pins.read_text() != _pins():
        return f"its Python environment ({VENV}) predates requirements.txt"
    return None


def _installed() -> bool:
    return all(path.exists() for path in (APACHE, MODULES / "mod_wsgi.so", SYSTEM_PYTHON))


def _pins() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _folder(path: Path) -> Path:
    """`path` made if need be, and its parent, open to the daemons' user."""
    path.mkdir(parents=True, exist_ok=True)
    for folder in (path.parent, path):
        folder.chmod(0o755)
    return path


def _readable(tree: Path) -> None:
    """Let the daemons' user read every file of `tree`, whatever the umask was."""
    for folder, _, files in os.walk(tree):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o111 else 0o644)


def _prune(runs: Path) -> None:
    """Remove the folders of stopped servers (Apache deletes its pid file when it stops); a folder
    younger than STALE_S may belong to a server still starting."""
    for old in runs.iterdir():
        try:
            stale = time.time() - old.stat().st_mtime > STALE_S
        except OSError:  # removed meanwhile by another dashboard
            continue
        if stale and not _alive(old / "apache.pid"):
            shutil.rmtree(old, ignore_errors=True)


def _alive(pid_file: Path) -> bool:
    try:
        return psutil.pid_exists(int(pid_file.read_text()))
    except (OSError, ValueError):
        return False
