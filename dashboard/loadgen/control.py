"""The dashboard's side of the load generator: checks a burst or sustained load, resolves its
target (targets.py), hands it to the generator process, and ends the runs the generator can no
longer end itself: because it exited, or because it stopped answering (SIGSTOP, a hung loop),
which its heartbeat file tells. It also cuts short the runs of a target that died, so that the
generator sends nothing more to its port (which may soon be another program's).
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import threading
import time

from dashboard.children import Spawner, release_tree, terminate_tree
from dashboard.loadgen.commands import Cancel, Command, Fire, Sustain, encode
from dashboard.loadgen.targets import Targets
from dashboard.loadspec.limits import MAX_ACTIVE_RUNS, BadLoadRequest, RunRate, parse_burst
from dashboard.loadspec.plan import parse_plan
from dashboard.loadspec.targets import TargetName
from dashboard.model.events import RunAdded, RunEnded, SustainAdded, TargetDied
from dashboard.model.live import Model
from dashboard.model.store import Store
from dashboard.servers.mode import python_module

# The generator touches its heartbeat file every HEARTBEAT_S (generator.py); one silent this long
# has stopped answering. A fresh one may take a Python start on a busy machine to beat first.
HEARTBEAT_DEADLINE_S = 5.0
FIRST_BEAT_DEADLINE_S = 20.0
EXIT_WAIT_S = 1.0  # how long the dashboard, exiting, waits for the generator's guard
# A sustained run's schedule starts this long after it is asked for: the command's way to the
# generator (a pipe and a turn of its loop) is then not counted against the first requests.
START_MARGIN_NS = 100_000_000


class LoadControl:
    """Fires load at registered targets only (never at a URL a viewer names)."""

    def __init__(self, store: Store, spawner: Spawner, collector_url: str, targets: Targets) -> None:
        self.store = store
        self.spawner = spawner
        self.collector_url = collector_url
        self.targets = targets
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._generator: subprocess.Popen | None = None
        self._active: set[str] = set()
        self._rate = RunRate()
        self._log = spawner.logdir / "generator.log"
        self._beat = spawner.logdir / "generator.beat"
        self._spawned = 0.0  # time.time() of the generator's start

    def start(self) -> None:
        """Warm the generator up now, so the first click does not wait for a Python start."""
        with self._lock:
            self._ensure_generator()

    def fire(self, body: object) -> str:
        """Start a burst; returns its run id. BadLoadRequest when it cannot be fired, UnknownTarget
        when the server it names is not a target."""
        burst = parse_burst(body)
        request = burst.http()
        with self._lock:  # resolved under it: a target that dies meanwhile cuts this run short too
            server, url = self.targets.resolve(body.get("server"))
            run = self._admit_locked()
            self.store.apply(RunAdded(time.monotonic_ns(), run, burst.label, burst.count, burst.ms, server))
            self._send(Fire(run, url, request.method, request.path, request.body, burst.count))
        return run

    def sustain(self, body: object) -> str:
        """Start sustained load (loadspec/plan.py); returns its run id. Refused as `fire` is."""
        plan = parse_plan(body)
        with self._lock:
            server, url = self.targets.resolve(body.get("server"))
            run = self._admit_locked()
            start_ns = time.monotonic_ns() + START_MARGIN_NS
            managed = server == TargetName.MANAGED
            self.store.apply(SustainAdded(time.monotonic_ns(), run, plan, start_ns, server, managed))
            self._send(Sustain.of(run, url, plan, start_ns))
        return run

    def _admit_locked(self) -> str:
        """A new run's id, once the caps allow one more (BadLoadRequest when they do not)."""
        self._reap_locked()
        if len(self._active) >= MAX_ACTIVE_RUNS:
            raise BadLoadRequest(f"{MAX_ACTIVE_RUNS} runs are already running; wait for one to finish")
        self._rate.admit(time.monotonic())
        run = f"r{next(self._ids)}"
        self._active.add(run)
        return run

    def _ensure_generator(self) -> subprocess.Popen:
        if self._generator is None or self._generator.poll() is not None:
            argv = python_module(
                "dashboard.loadgen.generator",
                "--collector",
                self.collector_url,
                "--heartbeat",
                str(self._beat),
            )
            self._beat.unlink(missing_ok=True)
            self._spawned = time.time()
            self._generator = self.spawner.spawn(argv, {}, self._log, stdin_pipe=True)
        return self._generator

    def _silence(self) -> str | None:
        """Why the running generator counts as no longer answering, or None while it answers."""
        try:
            silent, deadline = time.time() - self._beat.stat().st_mtime, HEARTBEAT_DEADLINE_S
        except FileNotFoundError:
            silent, deadline = time.time() - self._spawned, FIRST_BEAT_DEADLINE_S
        if silent <= deadline:
            return None
        return f"the load generator stopped answering (no heartbeat for {deadline:.0f} s)"

    def _send(self, command: Command) -> None:
        """Write one command; a generator that died is replaced and its runs ended first."""
        for _ in range(2):
            generator = self._ensure_generator()
            try:
                generator.stdin.write(encode(command))
                generator.stdin.flush()
                return
            except (BrokenPipeError, OSError):
                terminate_tree(generator)  # dead already, or no longer reading its commands
                self._reap_locked(keep=command.run)
        raise BadLoadRequest("the load generator could not be started; see the dashboard's log")

    def reap(self) -> None:
        """Forget finished runs; end the runs of a generator that died (called periodically)."""
        with self._lock:
            self._reap_locked()

    def _reap_locked(self, keep: str | None = None) -> None:
        over = self.store.use(
            lambda model: {r for r in self._active if r not in model.runs or model.runs[r].ended_ns}
        )
        self._active -= over
        generator = self._generator
        if generator is None:
            return
        reason = _exit_reason(generator.returncode) if generator.poll() is not None else self._silence()
        if reason is not None:
            release_tree(generator, timeout=0)  # its guard SIGCONTs, SIGTERMs, then SIGKILLs it
            for run in self._active - {keep}:
                self._end_run(run, reason)
            self._active &= {keep}
            self._forget_generator()

    def stop_all(self, reason: str = "stopped") -> list[str]:
        """Cut every run in progress short (the presenter, a server switch); returns their ids."""
        with self._lock:
            self._reap_locked()
            runs = sorted(self._active)
            for run in runs:
                self._cancel_locked(run, reason)
                self._end_run(run, reason)
            self._active.clear()
        return runs

    def target_died(self, target: str, since_ns: int, reason: str = "the server exited") -> list[str]:
        """Server `target`, last seen alive at `since_ns`, exited: its runs end failed now (an event
        of the log, model/dead_target.py) and the generator stops them; returns the runs stopped."""
        with self._lock:
            self._reap_locked()
            self.store.apply(TargetDied(time.monotonic_ns(), target, since_ns, reason))
            runs = self.store.use(lambda model: sorted(r for r in self._active if _aims(model, r, target)))
            for run in runs:
                self._cancel_locked(run, reason)
            self._active.difference_update(runs)
        return runs

    def _cancel_locked(self, run: str, reason: str) -> None:
        """Tell the generator to stop sending run `run` (none runs: nothing sends it)."""
        if self._generator is not None:
            self._send(Cancel(run, reason))

    def close(self) -> None:
        """The dashboard is exiting: end every run and the generator."""
        self.stop_all("the dashboard stopped")
        with self._lock:
            if self._generator is not None:
                release_tree(self._generator, EXIT_WAIT_S)
                self._forget_generator()

    def _forget_generator(self) -> None:
        """Close our end of the generator's command pipe: each one replaced would leak a descriptor."""
        generator, self._generator = self._generator, None
        with contextlib.suppress(OSError):  # bytes left unflushed for a reader that is gone
            generator.stdin.close()

    def _end_run(self, run: str, reason: str) -> None:
        self.store.apply(RunEnded(time.monotonic_ns(), run, reason))


def _aims(model: Model, run: str, target: str) -> bool:
    """Whether run `run` was sent to server `target`."""
    return run in model.runs and model.runs[run].target == target


def _exit_reason(code: int) -> str:
    """Why the runs of a generator that exited ended."""
    if code < 0:
        return f"the load generator was killed (signal {-code})"
    return f"the load generator exited with code {code}"
