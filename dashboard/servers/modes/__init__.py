"""The registry: every mode defined in a module of this package, found by itself.

Adding a mode is dropping one module here. It defines a `Mode` subclass (dashboard/servers/mode.py)
with `name` (the API's), `order` (its place on the page), `title`, `sentence`, `capacity_formula`,
`task` (and `task_kind` unless "thread"), its `params` and `law_cases`, and the methods `capacity`,
`slots_per_process` and `command` (and `tree_size` if its process tree is not a master and its
`workers`). tests/test_modes.py then runs its law cases, bench.modes measures them, and the README's
table must gain its row (the drift test prints it). `REGISTRY` maps API names to modes in order.
"""

from __future__ import annotations

import importlib
import pkgutil

from dashboard.config import DEFAULT_MODE
from dashboard.servers.mode import BadServerRequest, Mode


def discover(package: str) -> dict[str, Mode]:
    """One instance of each concrete mode class of `package`'s modules, sorted by `order`.

    A class counts when its own module defines it and it has a `name`: the bases it imports
    (`Mode`, `WorkersTimesThreads`) and helper modules (gunicorn_args) add nothing.
    """
    found: dict[str, Mode] = {}
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__, f"{package}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if not (isinstance(value, type) and issubclass(value, Mode)):
                continue
            if value.__module__ != module.__name__ or not isinstance(getattr(value, "name", None), str):
                continue
            if value.name in found:
                raise RuntimeError(f"two modes are called {value.name!r}: {info.name} and another")
            if not isinstance(getattr(value, "order", None), int):
                raise RuntimeError(
                    f"mode {value.name!r} ({info.name}) needs an `order`, its place on the page"
                )
            found[value.name] = value()
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


REGISTRY: dict[str, Mode] = discover(__name__)
if DEFAULT_MODE not in REGISTRY:
    raise RuntimeError(f"the default mode {DEFAULT_MODE!r} is not among {sorted(REGISTRY)}")


def get_mode(name: object) -> Mode:
    """The mode called `name`, or BadServerRequest naming the ones there are."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise BadServerRequest(f"unknown mode {str(name)[:60]!r}; modes: {', '.join(REGISTRY)}")
    return REGISTRY[name]
