"""The runs the model keeps: bursts and sustained load, the newest MAX_RUNS, by id."""

from __future__ import annotations

from collections import OrderedDict

from dashboard.model.runs import Run
from dashboard.model.sustained_run import SustainedRun

MAX_RUNS = 50

LoadRun = Run | SustainedRun


class RunBook(OrderedDict[str, LoadRun]):
    """Runs by id, oldest first (an ordered dict, as the views read it)."""

    def keep(self, run: LoadRun) -> None:
        """A new run; the oldest is forgotten beyond MAX_RUNS."""
        self[run.id] = run
        while len(self) > MAX_RUNS:
            self.popitem(last=False)

    def finish(self, run_id: str, t_ns: int, reason: str) -> None:
        """The load generator exited: a run it did not close ends here, with the reason."""
        run = self.get(run_id)
        if run is not None:
            run.finish(t_ns, reason)

    def active(self, now_ns: int) -> list[LoadRun]:
        return [run for run in self.values() if run.state(now_ns) == "running"]
