"""Threadpulse's agent, injected into a server launched by `run.py -- COMMAND`: this folder is put
first on the command's PYTHONPATH, so every Python process of it runs this at start.

It does nothing unless THREADPULSE_COLLECTOR is set. It makes the agent importable without the
rest of Threadpulse (only `workload.agent`, standard library only; `workload` itself imports Flask),
installs the import hooks of `workload.agent.inject`, then runs the sitecustomize this one hides,
if the environment has one. A project with its own top-level `workload` package is left alone
(said on stderr): its name would clash with the agent's.
"""

import importlib.machinery
import importlib.util
import os
import sys
import types

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))


def _agent_package() -> bool:
    """`workload` as a bare package over Threadpulse's folder, so `workload.agent` imports alone."""
    if "workload" in sys.modules:
        return getattr(sys.modules["workload"], "__path__", [None])[0] == os.path.join(_ROOT, "workload")
    if os.path.exists(os.path.join(os.getcwd(), "workload")) or os.path.exists("workload.py"):
        print("threadpulse: this project has its own `workload`: the agent is not injected", file=sys.stderr)
        return False
    package = types.ModuleType("workload")
    package.__path__ = [os.path.join(_ROOT, "workload")]
    sys.modules["workload"] = package
    return True


def _inject() -> None:
    if not os.environ.get("THREADPULSE_COLLECTOR"):
        return
    try:
        if _agent_package():
            from workload.agent import inject

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
