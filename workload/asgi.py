"""The workload's endpoints as a Quart (asyncio) app: the article's async alternative.

Same paths, parameters and errors as the Flask app. `/io` awaits, so thousands wait at once on
one thread; `/cpu` and `/cpu-native` compute inside the coroutine, as a naive port would, and
hold up the event loop; `/cpu-pool` awaits a process pool instead.
"""

from __future__ import annotations

import asyncio

from quart import Quart, jsonify, request
from werkzeug.exceptions import HTTPException

from threadpulse_agent import phases
from threadpulse_agent.asgi import instrument_asgi
from workload import offload, work
from workload.params import BadParam, duration_ms


def create_app() -> Quart:
    """The instrumented Quart workload app."""
    app = Quart(__name__)

    @app.get("/hello")
    async def hello():
        return jsonify(hello="world")

    @app.get("/io")
    async def io():
        ms = duration_ms(request.args, "ms")
        phases.mark("io")
        await asyncio.sleep(ms / 1000)
        return jsonify(endpoint="io", ms=ms)

    @app.get("/cpu")
    async def cpu():
        ms = duration_ms(request.args, "ms")
        work.burn_python(ms)
        return jsonify(endpoint="cpu", ms=ms)

    @app.get("/cpu-native")
    async def cpu_native():
        ms = duration_ms(request.args, "ms")
        work.burn_native(ms)
        return jsonify(endpoint="cpu-native", ms=ms)

    @app.get("/cpu-pool")
    async def cpu_pool():
        ms = duration_ms(request.args, "ms")
        phases.mark("io")
        await asyncio.get_running_loop().run_in_executor(offload.pool(), work.burn_python, ms)
        return jsonify(endpoint="cpu-pool", ms=ms)

    @app.get("/mixed")
    async def mixed():
        io_ms = duration_ms(request.args, "io_ms", default=0)
        cpu_ms = duration_ms(request.args, "cpu_ms", default=0)
        phases.mark("io")
        await asyncio.sleep(io_ms / 1000)
        work.burn_python(cpu_ms)
        return jsonify(endpoint="mixed", io_ms=io_ms, cpu_ms=cpu_ms)

    @app.errorhandler(BadParam)
    async def bad_param(exc: BadParam):
        return jsonify(error=str(exc)), 400

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException):
        return jsonify(error=exc.description), exc.code

    app.asgi_app = instrument_asgi(app.asgi_app)
    return app
