"""`python -m workload.asgi_server`: the Quart workload under Hypercorn, in this one process.

Hypercorn's own CLI always runs its workers in child processes; serving from here keeps one
process with one event loop, so every request is an asyncio task of the same loop.
"""

from __future__ import annotations

import argparse
import asyncio

from hypercorn.asyncio import serve
from hypercorn.config import Config

from workload.asgi import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backlog", type=int, required=True, help="listen queue length")
    args = parser.parse_args(argv)
    config = Config()
    config.bind = [f"{args.host}:{args.port}"]
    config.backlog = args.backlog
    config.accesslog = None
    config.keep_alive_timeout = 5
    asyncio.run(serve(create_app(), config))


if __name__ == "__main__":
    main()
