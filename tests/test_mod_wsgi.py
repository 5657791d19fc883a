"""The mod_wsgi mode without Apache running: its refusal, and the configuration it writes.

Apache itself serving the law is in tests/test_modes.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dashboard.servers.mode import BadServerRequest
from dashboard.servers.modes import mod_wsgi


def test_switch_is_refused_with_what_to_run_when_apache_is_missing(monkeypatch, tmp_path):
    """Refused in `startable`, so the server that runs keeps running; the page still lists the mode
    and can still ask it for a capacity."""
    monkeypatch.setattr(mod_wsgi, "APACHE", tmp_path / "apache2")
    mode = mod_wsgi.ModWsgi()
    with pytest.raises(BadServerRequest, match="Apache or mod_wsgi is not installed.*make mod-wsgi"):
        mode.startable({"workers": 1})
    assert mode.capacity(mode.validate({"workers": 1})) == 4
    assert mode.view()["capacity_default"] == 8


def test_switch_is_refused_when_requirements_changed_since_the_environment_was_built(monkeypatch, tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    venv.joinpath(".pins").write_text("pins of another requirements.txt")
    monkeypatch.setattr(mod_wsgi, "VENV", venv)
    with pytest.raises(BadServerRequest, match="predates requirements.txt"):
        mod_wsgi.ModWsgi().startable({})


def test_apache_never_holds_back_the_daemons_it_hands_requests_to():
    """Apache's front threads each carry one request to a daemon: fewer than the daemons' capacity
    would cap the pool below processes × threads and break the law."""
    conf = mod_wsgi.config(Path("/run/x"), {"workers": 16, "threads": 64}, "::1", 8080)
    assert "processes=16 threads=64" in conf
    assert f"ThreadsPerChild {16 * 64 + mod_wsgi.SPARE_FRONT_THREADS}\n" in conf
    assert "Listen [::1]:8080\n" in conf
    assert "Include" not in conf  # nothing of the host's own Apache sites


def test_folders_of_stopped_servers_are_removed_at_the_next_start(tmp_path):
    """Apache deletes its pid file when it stops; a folder without a live one, old enough not to be
    a server still starting, is a leftover."""
    old = time.time() - 2 * mod_wsgi.STALE_S
    stopped, killed, running, starting = (
        tmp_path / name for name in ("stopped", "killed", "running", "starting")
    )
    for folder in (stopped, killed, running, starting):
        folder.mkdir()
    killed.joinpath("apache.pid").write_text("999999999")
    running.joinpath("apache.pid").write_text(str(os.getpid()))
    for folder in (stopped, killed, running):
        os.utime(folder, (old, old))
    mod_wsgi._prune(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["running", "starting"]
