"""The workload: a small Flask app whose endpoints make concurrency visible.

`gunicorn 'workload:create_app()'` serves it; with THREADPULSE_COLLECTOR set, every request is
reported by the agent.
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from threadpulse_agent import instrument
from workload import offload, work
from workload.params import BadParam, duration_ms


def create_app() -> Flask:
    """The instrumented workload app."""
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return jsonify(hello="world")

    @app.get("/io")
    def io():
        ms = duration_ms(request.args, "ms")
        work.wait_io(ms)
        return jsonify(endpoint="io", ms=ms)

    @app.get("/cpu")
    def cpu():
        ms = duration_ms(request.args, "ms")
        work.burn_python(ms)
        return jsonify(endpoint="cpu", ms=ms)

    @app.get("/cpu-native")
    def cpu_native():
        ms = duration_ms(request.args, "ms")
        work.burn_native(ms)
        return jsonify(endpoint="cpu-native", ms=ms)

    @app.get("/cpu-pool")
    def cpu_pool():
        ms = duration_ms(request.args, "ms")
        offload.burn_in_pool(ms)
        return jsonify(endpoint="cpu-pool", ms=ms)

    @app.get("/mixed")
    def mixed():
        io_ms = duration_ms(request.args, "io_ms", default=0)
        cpu_ms = duration_ms(request.args, "cpu_ms", default=0)
        work.wait_io(io_ms)
        work.burn_python(cpu_ms)
        return jsonify(endpoint="mixed", io_ms=io_ms, cpu_ms=cpu_ms)

    @app.errorhandler(BadParam)
    def bad_param(exc: BadParam):
        return jsonify(error=str(exc)), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.description), exc.code

    app.wsgi_app = instrument(app.wsgi_app)
    return app
