"""The dashboard's settings (dashboard/config.py): a leaf that loads nothing, and holds every Config,
a test's too, to the bounds run.py's flags are held to (issue 18)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard.config import BadConfig, Config


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
