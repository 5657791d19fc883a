"""A server started elsewhere that the user named (`run.py --attach --target URL`): load from the
page may go to it while a server reporting at that address has a live process on the page. A
datagram alone never makes a target: only the user's flag does."""

from __future__ import annotations

import time

from dashboard.loadgen.targets import Targets
from dashboard.loadspec.targets import TargetName
from dashboard.model.events import Launched
from dashboard.model.servers import serving
from dashboard.model.store import Store


def attach(store: Store, targets: Targets, url: str) -> None:
    """Tell the model where the attached server is, and make it a load target."""
    store.apply(Launched(time.monotonic_ns(), TargetName.ATTACHED, (), url))
    targets.add(
        TargetName.ATTACHED, url, alive=lambda: store.use(lambda model: serving(model, TargetName.ATTACHED))
    )
