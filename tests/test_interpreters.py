"""Which Python a managed server runs on (`run.py --python`, `"python"` in `POST /api/server`,
issue 20): the project's own, the free-threaded build, or any the user has, with the modes'
packages in a venv of it made on first use; bad input refused with a reason, nothing changed."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dashboard.cli.run import parse_args
from dashboard.servers import free_threaded, interpreters
from dashboard.servers.mode import BadServerRequest, Mode, python_module
from dashboard.servers.modes import REGISTRY, get_mode
from tests.pythons import PYENV, interpreter
from tests.support import wait_for

REFUSING = {
    "gunicorn-gevent": "gevent does not support free-threading",
    "eventlet": "eventlet does not support free-threading",
    "uwsgi": "uWSGI embeds the Python it was compiled with",
    "mod_wsgi": "Debian's mod_wsgi is built against Debian's own Python",
    "asyncio": "Quart and Hypercorn run on the project's Python only",
}
TAKING = ("flask-dev-serial", "flask-dev-threaded", "gunicorn-sync", "gunicorn-gthread", "granian")


def test_the_modes_that_can_take_another_python_and_the_others_say_why_not():
    """gevent and eventlet do not support free-threading; uWSGI, mod_wsgi and Quart say theirs."""
    for name in TAKING:
        assert get_mode(name).other_python is None, name
    assert {name for name, mode in REGISTRY.items() if mode.other_python} == set(REFUSING)
    for name, reason in REFUSING.items():
        assert reason in REGISTRY[name].view()["other_python"]


def test_a_free_threaded_python_is_told_by_name_and_by_path_and_granian_takes_its_shape():
    """Issue 20: on a free-threaded Python Granian runs its workers as threads of one process, so
    the manager waits for that one process and draws every blocking thread as its slot; the build
    is known by name, and a path to it (or any Python) by asking it."""
    assert interpreters.gil_disabled(None) is False
    assert interpreters.gil_disabled(free_threaded.PYTHON) is True
    assert interpreters.gil_disabled(free_threaded.PYTHON.resolve()) is True  # asked, not named
    assert interpreters.gil_disabled(Path(sys.executable)) is False
    granian, params = get_mode("granian"), {"workers": 2, "threads": 2}
    assert (granian.processes_up(params, True), granian.slots_up(params, True)) == (1, 4)
    assert (granian.processes_up(params, False), granian.slots_up(params, False)) == (3, 2)
    gthread = get_mode("gunicorn-gthread")
    assert (gthread.processes_up(params, True), gthread.slots_up(params, True)) == (3, 2)


@pytest.mark.parametrize("mode", sorted(REFUSING))
def test_a_mode_that_cannot_take_another_python_refuses_it_on_the_command_line(mode, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--mode", mode, "--python", "free-threaded"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{mode} cannot run on another Python: {REFUSING[mode]}" in err


@pytest.mark.parametrize(
    ("python", "says"),
    [
        ("no/such/python", "no executable file there"),
        ("/etc/hostname", "it does not run as a Python"),
        ("/bin/true", "not a Python 3"),
        (str(PYENV / "versions" / "2.7.18" / "bin" / "python"), "not a Python 3"),
    ],
)
def test_a_python_that_is_not_one_is_refused_on_the_command_line(python, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--mode", "gunicorn-sync", "--python", python])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_a_python_too_old_for_the_modes_is_refused_naming_its_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--python", str(interpreter("3.9"))])
    assert exit_.value.code == 2
    assert "is Python 3.9; the modes need 3.10 or newer" in capsys.readouterr().err


def test_the_free_threaded_python_not_built_is_refused_saying_how_to_build_it(monkeypatch, tmp_path):
    """The one mock: a machine where `make free-threaded` has not run (this one has run it)."""
    monkeypatch.setattr(free_threaded, "VENV", tmp_path / "venv")
    with pytest.raises(BadServerRequest, match="`make free-threaded` builds it"):
        interpreters.resolve("free-threaded", get_mode("gunicorn-sync"))


class NeedsAbsentServer(Mode):
    """A mode whose server module the free-threaded venv lacks (as granian was, before its pin had
    a 3.13t wheel)."""

    name = "needs-absent"
    other_python = None

    def command(self, params: dict[str, int], host: str, port: int) -> list[str]:
        return python_module("threadpulse_no_such_server", "--port", str(port))


def test_a_mode_whose_server_the_python_lacks_is_refused_naming_the_package():
    with pytest.raises(
        BadServerRequest, match="needs-absent needs the package threadpulse_no_such_server, which .* lacks"
    ):
        interpreters.resolve("free-threaded", NeedsAbsentServer())


def test_the_project_pythons_argv_runs_on_the_one_chosen():
    argv = get_mode("gunicorn-sync").command({"workers": 1}, "127.0.0.1", 8000)
    assert interpreters.on_python(argv, None) == argv
    moved = interpreters.on_python(argv, free_threaded.PYTHON)
    assert moved == [str(free_threaded.PYTHON), *argv[1:]]


BAD_BODIES = [
    ({"mode": "gunicorn-sync", "python": 3}, 'python must be "free-threaded" or the path of a Python'),
    ({"mode": "gunicorn-sync", "python": ""}, 'python must be "free-threaded" or the path of a Python'),
    ({"mode": "gunicorn-sync", "python": "/bin/true"}, "not a Python 3"),
    ({"mode": "gunicorn-sync", "python": "free-threading"}, "no executable file there"),
    ({"mode": "gunicorn-gevent", "python": "free-threaded"}, "gevent does not support free-threading"),
]


@pytest.mark.integration
def test_a_bad_python_in_a_server_request_is_refused_and_changes_nothing(dashboard):
    before = dashboard.get("/api/server").json()
    for body, says in BAD_BODIES:
        reply = dashboard.post("/api/server", body)
        assert reply.status_code == 400 and says in reply.json()["error"], (body, reply.text)
    assert dashboard.get("/api/server").json() == before


def test_two_runs_wanting_the_same_venv_make_it_once(tmp_path, monkeypatch, capsys):
    """Test lanes and checkouts share the venvs' cache: two at once, each seeing no venv, both made
    it, one removing the other's half-made one. Under the cache's lock the second finds it made."""
    monkeypatch.setattr(interpreters, "HOME", tmp_path)
    python = interpreter("3.12")
    with ThreadPoolExecutor(2) as pool:
        made = list(pool.map(lambda _: interpreters._venv(python), range(2)))
    assert made[0] == made[1] and (made[0].parent.parent / ".threadpulse-ready").exists()
    assert capsys.readouterr().err.count("== making a venv of") == 1


@pytest.mark.integration
def test_a_users_python_without_flask_gets_a_venv_and_serves_on_it(dashboard):
    """pyenv's 3.12 has no Flask: a venv of it with the pins is made on first use (kept outside the
    checkout), the server runs on it, and its agent reports that Python with its GIL."""
    python = interpreter("3.12")
    reply = dashboard.post("/api/server", {"mode": "flask-dev-threaded", "python": str(python)})
    assert reply.status_code == 200, reply.text
    assert reply.json()["interpreter"] == str(python)
    server = wait_for(lambda: dashboard.get("/api/server").json()["python"], 20, what="the agent's Python")
    version = python.parent.parent.name
    assert server == {"version": version, "gil": True}
    assert interpreters.HOME.is_dir()
