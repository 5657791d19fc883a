"""What a mode needs beyond `make run`, installed the first time it is needed, never half-installed.

`make run` installs what the default mode needs (requirements.txt). A mode with a heavy build of its
own (uWSGI, compiled from source: ~20 s on 2 cores) names an `Extra`: its pinned packages, installed
into the dashboard's own environment when the mode is first chosen (from the page, POST /api/server,
`--mode`) or by `make test`. The free-threaded CPython (free_threaded.py) is built with the same
steps. Either way a marker written last, keyed by what was asked for, says that a step finished:
an interrupted step leaves no marker, so the part counts as not installed and is done again from
the start. One install runs at a time; another request for it waits for it, then finds it done.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from dashboard.children import PROJECT_ROOT

MARKER = ".threadpulse-ready"
HEARTBEAT_S = 10.0
# One install at a time in this process (the file lock below orders processes, `make test` and a
# dashboard say): a second switch to a mode being installed waits for the first.
_INSTALLING = threading.Lock()


class BuildFailed(SystemExit):
    """A step of a build or an install failed; the message says which and where its log is."""


def ready(folder: Path, key: str) -> bool:
    """Whether the step that fills `folder` finished for `key` (its marker says so)."""
    marker = folder / MARKER
    return marker.exists() and marker.read_text() == key


def mark(folder: Path, key: str) -> None:
    """Say that the step that fills `folder` finished for `key`: the last thing it does."""
    (folder / MARKER).write_text(key)


@contextlib.contextmanager
def building(folder: Path) -> Iterator[None]:
    """Hold `folder`'s lock while building into it: two runs at once (checkouts, test lanes) share
    the cache, and one's `rmtree` of a half-made step would pull it from under the other."""
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def step(title: str, argv: list[str], cwd: Path, out: IO[str], say: Callable[[str], None]) -> None:
    """Run one step with its output in the log `out`, saying every HEARTBEAT_S that it is alive."""
    say(f"   {title}: {' '.join(str(a) for a in argv)}")
    out.flush()
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(HEARTBEAT_S):
            say(f"   ... {title}, {time.monotonic() - started:.0f} s")

    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        code = process.wait()
    finally:
        done.set()
    if code != 0:
        raise BuildFailed(f"{title} failed (exit {code}): see the end of {out.name}")


@dataclass(frozen=True)
class Extra:
    """Pinned packages (`requirements`, transitive ones listed too) a mode needs, installed on
    demand into the environment of `python` (the dashboard's own by default)."""

    name: str
    requirements: Path
    cost: str  # what installing takes, said before it starts: "compiles C, ~20 s on 2 cores"
    python: Path = field(default_factory=lambda: Path(sys.executable))
    prefix: Path = field(default_factory=lambda: Path(sys.prefix))

    @property
    def folder(self) -> Path:
        """Where its marker and install log live, inside the environment it installs into."""
        return self.prefix / "threadpulse-extras" / self.name.lower()

    def key(self) -> str:
        return hashlib.sha256(self.requirements.read_bytes()).hexdigest()

    def pins(self) -> str:
        """The packages it installs, as pinned ("uWSGI==2.0.31"): no comments, no pip options."""
        lines = (line.strip() for line in self.requirements.read_text().splitlines())
        return ", ".join(line for line in lines if line and not line.startswith(("#", "-")))

    def installed(self) -> bool:
        return ready(self.folder, self.key())

    def note(self) -> str | None:
        """For the page while it is not installed: that choosing the mode installs it."""
        if self.installed():
            return None
        return f"Not installed yet: choosing it installs {self.pins()} first ({self.cost}, once)"

    def install(self, say: Callable[[str], None] = print) -> None:
        """Install it unless it is (a second caller waits for the first, then finds it done);
        BuildFailed saying what failed, leaving it not installed."""
        with _INSTALLING:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / "lock", "w") as lock:
                if self.installed():
                    return
                if not _try_lock(lock):
                    say(f"== waiting for another install of {self.name} (lock {lock.name})")
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    if self.installed():
                        return
                self._install_locked(say)

    def _install_locked(self, say: Callable[[str], None]) -> None:
        (self.folder / MARKER).unlink(missing_ok=True)
        log = self.folder / "install.log"
        started = time.monotonic()
        say(f"== installing {self.pins()} ({self.cost}, once; log {log})")
        # --force-reinstall: whatever an interrupted install left is replaced, not trusted.
        argv = [sys.executable, "-m", "pip", "--python", str(self.python), "install"]
        argv += ["--disable-pip-version-check"]
        argv += ["--force-reinstall", "--no-deps", "-r", str(self.requirements)]
        with open(log, "w") as out:
            step(f"pip installing {self.name}", argv, PROJECT_ROOT, out, say)
        mark(self.folder, self.key())
        say(f"== {self.name} installed in {time.monotonic() - started:.0f} s")


def _try_lock(lock: IO[str]) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
