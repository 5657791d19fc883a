"""`python -m workload.devserver`: the workload on Flask's own development server.

`--serial` passes `threaded=False`; without it `app.run()` keeps its default (`threaded=True`
since Flask 1.0), which is what a user who just calls `app.run()` gets.
"""

from __future__ import annotations

import argparse

from workload import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--serial", action="store_true", help="threaded=False: one request at a time")
    args = parser.parse_args(argv)
    app = create_app()
    if args.serial:
        app.run(args.host, args.port, threaded=False, use_reloader=False)
    else:
        app.run(args.host, args.port, use_reloader=False)


if __name__ == "__main__":
    main()
