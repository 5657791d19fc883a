"""A server load was sent to died: the runs it cut short end failed, with the reason.

Its death is noticed by the housekeeping round after it happened, and a burst whose connections
the dying server reset may have been ended by the generator in between, as if it had gone to plan
(the issue 17 probe: "done", no reason). So a run counts as cut by the death if it is still going,
or if it ended after `since_ns` (when the server was last seen alive) with a failed request.
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.model.runs import Run
from dashboard.model.sustained_run import SustainedRun


def end_runs_at(
    runs: Iterable[Run | SustainedRun], target: str, since_ns: int, t_ns: int, reason: str
) -> list[str]:
    """End the runs at server `target` that its death cut short; returns their ids."""
    cut = []
    for run in runs:
        if run.target != target or run.reason:
            continue
        if run.ended_ns is None:
            run.finish(t_ns, reason)
        elif run.ended_ns >= since_ns and _failed(run):
            run.reason = reason  # it ended by itself, with requests the dying server reset
        else:
            continue
        cut.append(run.id)
    return cut


def _failed(run: Run | SustainedRun) -> bool:
    if isinstance(run, SustainedRun):
        return run.failed > 0
    return any(not 200 <= status < 400 for _, status in run.replies.values())
