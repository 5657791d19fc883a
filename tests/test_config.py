"""The dashboard's settings (dashboard/config.py): a leaf that loads nothing, and holds every Config,
a test's too, to the bounds run.py's flags are held to (issue 18)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dashboard.app import create_app
from dashboard.config import BadConfig, Config
from dashboard.servers.mode import BadServerRequest


def test_importing_and_building_a_config_loads_no_other_module_of_the_dashboard():
    """Issue 18: config.py imported the recording reader, the talk and the mode registry, and its
    defaults read the talk's TOML and validated the default mode's parameters as it was built."""
    code = (
        "import sys; from dashboard.config import Config; Config();"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in ('dashboard', 'workload')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["['dashboard',", "'dashboard.config']"]
    assert (Config().scenes, Config().server_params, Config().replay) == ((), {}, None)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"port": 0}, "--port must be from 1 to 65535, got 0"),
        ({"collector_port": 65536}, "--collector-port must be from 0 to 65535, got 65536"),
        ({"dashboard_worker": "uwsgi"}, "--dashboard-worker must be one of gevent, gthread, got 'uwsgi'"),
        ({"dashboard_threads": 2001}, "--dashboard-threads must be from 1 to 2000, got 2001"),
        ({"record_cap_mb": 0}, "--record-cap-mb must be from 1 to 100000, got 0"),
        ({"speed": 9.0}, "--speed must be from 0.25 to 8, got 9"),
    ],
)
def test_a_setting_out_of_bounds_is_refused_naming_its_flag(setting, message):
    """Issue 18: the bounds were checked in run.py's flag handling alone; a test's Config(**kw), and
    so the app it builds, took any value."""
    with pytest.raises(BadConfig) as refused:
        Config(**setting)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"mode": "nope"}, "unknown mode 'nope'; modes: flask-dev-serial"),
        ({"server_params": {"threads": 0}}, "threads must be from 1 to 64, got 0"),
        ({"mode": "eventlet", "server_params": {"workers": 2}}, "mode eventlet has no parameter 'workers'"),
    ],
)
def test_a_managed_server_its_mode_cannot_start_is_refused_as_the_services_are_built(setting, message):
    """Issue 18: Config no longer checks the server's parameters as it is built (that needed the mode
    registry); its mode does, before any service exists, so a test's Config is held to what run.py's
    flags are, and not only when the server starts in a thread that logs the error."""
    with pytest.raises(BadServerRequest, match=re.escape(message)):
        create_app(Config(**setting), start=False)
