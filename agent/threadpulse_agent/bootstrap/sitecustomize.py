"""Threadpulse's agent, injected into a server launched by `run.py -- COMMAND`: this folder is put
first on the command's PYTHONPATH, so every Python process of it runs this at start.

It does nothing unless THREADPULSE_COLLECTOR is set. It loads `threadpulse_agent` from the folder
this one sits in, by its path: nothing beside the agent (the dashboard's own packages, or its
venv's site-packages when the dashboard is installed) comes into reach of the user's program, and
the user's own packages, whatever their names, are left alone. It then installs the import hooks
of `threadpulse_agent.inject` and runs the sitecustomize this one hides, if the environment has one.
"""

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = os.path.dirname(_HERE)


def _load_agent() -> None:
    """`threadpulse_agent` from its own folder, as if that folder's parent were on sys.path."""
    spec = importlib.util.spec_from_file_location(
        "threadpulse_agent", os.path.join(_PACKAGE, "__init__.py"), submodule_search_locations=[_PACKAGE]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"no agent at {_PACKAGE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["threadpulse_agent"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("threadpulse_agent", None)  # a user's own import then fails as usual
        raise


def _inject() -> None:
    if not os.environ.get("THREADPULSE_COLLECTOR"):
        return
    try:
        _load_agent()
        from threadpulse_agent import inject

        inject.install()
    except Exception as exc:  # the user's program runs on, unwatched, rather than not at all
        print(f"threadpulse: the agent is not injected: {exc!r}", file=sys.stderr)


def _chain() -> None:
    """Run the sitecustomize this one hides (Debian's Python ships one, a venv may have its own)."""
    paths = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


_inject()
_chain()
