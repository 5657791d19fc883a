"""Flask's development server (werkzeug), serial and threaded: one process, no pool."""

from __future__ import annotations

from dashboard.servers.mode import LawCase, Mode, python_module


class FlaskDevSerial(Mode):
    name = "flask-dev-serial"
    order = 10
    title = "Flask dev server, threaded=False"
    sentence = (
        "app.run(threaded=False) serves one request at a time on the main thread: capacity 1, "
        "every other request waits in the listen queue, whatever it does."
    )
    capacity_formula = "1"
    task = "the process's main thread"
    law_cases = (LawCase({}, 4, 300, 1),)

    def capacity(self, params: dict[str, int]) -> int:
        return 1

    def slots_per_process(self, params: dict[str, int]) -> int:
        return 1

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return python_module("workload.devserver", "--host", host, "--port", str(port), "--serial")


class FlaskDevThreaded(Mode):
    name = "flask-dev-threaded"
    order = 20
    title = "Flask dev server, app.run() defaults (threaded)"
    sentence = (
        "app.run() has been threaded=True since Flask 1.0, but it is no thread pool: werkzeug "
        "starts a new thread for every request and the thread exits when the reply is sent, so "
        "there is no limit and no reuse; watch tasks appear and go."
    )
    capacity_formula = "unbounded (a new thread per request)"
    task = "a thread made for one request (Thread-N (process_request_thread)), gone after it"
    law_cases = (LawCase({}, 20, 300, None, "a new thread per request"),)

    def capacity(self, params: dict[str, int]) -> None:
        return None

    def slots_per_process(self, params: dict[str, int]) -> None:
        return None

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return python_module("workload.devserver", "--host", host, "--port", str(port))
