"""The workload on eventlet's own WSGI server (gunicorn 26 removed `-k eventlet`).

eventlet must monkey-patch before anything imports `threading` or `socket`, and importing this
module imports the `workload` package (Flask) first; so the process starts with a line that
patches and then calls `main` (BOOT in the dashboard's dashboard/servers/modes/eventlet_wsgi.py).
`import eventlet` prints eventlet's own deprecation warning (it is in bug-fix-only maintenance);
it stays in the server's log, where it is true.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> None:
    import eventlet
    import eventlet.wsgi

    from workload import create_app

    if not eventlet.patcher.is_monkey_patched("socket"):
        sys.exit("monkey-patch first: python -c 'import eventlet; eventlet.monkey_patch(); ...; main()'")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=int, default=1000, help="green threads serving at most at once")
    parser.add_argument("--backlog", type=int, required=True, help="listen queue length")
    args = parser.parse_args(argv)
    listener = eventlet.listen((args.host, args.port), backlog=args.backlog)
    pool = eventlet.GreenPool(args.pool)
    eventlet.wsgi.server(listener, create_app(), custom_pool=pool, log_output=False)
