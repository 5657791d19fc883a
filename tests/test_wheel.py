"""The installed `threadpulse` (issue 19, pyproject.toml and hatch_build.py): the wheel built from this
checkout, installed into a fresh venv of each Python the dashboard supports, started from a folder
of the user's (empty, or tests/apps/shadow, holding its own `workload` and `dashboard` packages),
serves every asset its pages link and counts a burst fired at its managed demo server; and it
watches that user's app launched with `threadpulse -- gunicorn ...` from the user's own venv.

The wheel is built once a session. Each venv is kept between runs outside the repo, keyed by the
Python's version and the wheel's pinned requirements, so a later run only reinstalls the wheel."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from dashboard import __version__
from dashboard.servers.manager import free_port
from tests.pythons import app_venv, kept_venv, stack
from tests.support import ROOT, Dashboard, wait_for
from tests.test_bootstrap import SHADOW
from tests.test_launch import own_server, settled_done

pytestmark = pytest.mark.integration

PYTHONS = ("3.11", "3.12", "3.13")
PIP = ("-m", "pip", "install", "--quiet", "--disable-pip-version-check")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The threadpulse wheel, built from this checkout as `pip install .` builds it."""
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)]
    subprocess.run(build, check=True, timeout=600)
    (path,) = out.glob("threadpulse-*.whl")
    return path


def requirements(wheel: Path) -> list[str]:
    """The wheel's pinned dependencies, as its metadata says (read from requirements.txt at build)."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode()
    return re.findall(r"^Requires-Dist: (.+)$", metadata, flags=re.M)


@functools.cache
def venv_with(wheel: Path, version: str) -> Path:
    """A venv of Python `version` with the wheel's requirements (made once, then kept: tests/pythons.py)
    and this session's wheel installed over the previous one (once a session)."""
    venv = kept_venv(version, requirements(wheel))
    install = [venv / "bin" / "python", *PIP, "--no-deps", "--force-reinstall", wheel]
    subprocess.run(install, check=True, timeout=300)
    return venv


class Links(HTMLParser):
    """The same-site files a page loads: its scripts and images (src) and style sheets (link href)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = ("src", "href") if tag == "link" else ("src",)
        self.found |= {v for k, v in attrs if k in wanted and v and v.startswith("/")}


def assets_of(dash: Dashboard, pages: tuple[str, ...]) -> dict[str, int]:
    """Each address the pages link, and what the scripts they load import or load in turn
    (`from "./x.js"`, "/vendor/..."), with the status it answered."""
    status: dict[str, int] = {}
    todo = list(pages)
    while todo:
        path = todo.pop()
        if path in status:
            continue
        reply = dash.get(path)
        status[path] = reply.status_code
        if path in pages:
            links = Links()
            links.feed(reply.text)
            todo += links.found
        elif path.endswith(".js") and reply.ok:
            folder = path.rsplit("/", 1)[0]
            todo += [f"{folder}/{name}" for name in re.findall(r'from "\./([^"]+)"', reply.text)]
            todo += re.findall(r'"(/vendor/[^"]+)"', reply.text)
    return status


def done(dash: Dashboard) -> int:
    """The requests the agents saw done."""
    return dash.get("/api/state").json()["counters"]["done"]


@pytest.mark.parametrize("users_folder", ["empty", "own packages"])
@pytest.mark.parametrize("version", PYTHONS)
def test_installed_threadpulse_serves_every_asset_and_counts_a_burst(
    wheel: Path, version: str, users_folder: str, tmp_path: Path
) -> None:
    """Issue 19: `pip install .` gave nothing runnable; the installed command, started away from the
    checkout, must find its templates, static files, browser libraries and demo app in the wheel,
    on each Python the dashboard supports, whatever the user's folder holds."""
    venv = venv_with(wheel, version)
    command = [str(venv / "bin" / "threadpulse")]
    version_line = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert version_line.stdout == f"threadpulse {__version__}\n", version_line
    folder = SHADOW if users_folder == "own packages" else tmp_path
    dash = Dashboard("--workers", "1", "--threads", "4", command=command, cwd=folder)
    try:
        dash.wait_serving(60)
        dash.wait_processes(1, 30)
        status = assets_of(dash, ("/", "/stage", "/watch"))
        assert {"/vendor/socket.io.min.js", "/vendor/plotly.min.js", "/static/js/main.js"} <= set(status)
        assert {path: code for path, code in status.items() if code != 200} == {}, status
        probes = wait_for(lambda: done(dash), 15, what="the start's /hello probe counted by the agent")
        result = dash.wait_run(dash.fire("io", 8, 100))
        assert (result["state"], result["done"]) == ("done", 8), result
        wait_for(lambda: done(dash) == probes + 8, 15, what=f"{probes} + 8 requests counted")
        report = dash.get("/api/report?from=-120")  # inlines static/'s scripts and styles, read from files
        assert report.status_code == 200, report.text[:300]
    finally:
        dash.stop_leaving_nothing()


def test_installed_threadpulse_watches_a_users_app_whose_package_is_named_workload(wheel: Path) -> None:
    """Issue 19 ("an app whose package is named `workload` is watched"), by the installed command:
    `threadpulse -- gunicorn ...` in the user's folder injects the agent the wheel bundled (from
    site-packages, by its path) into the gunicorn of the user's own venv, whose `workload` and
    `dashboard` are the user's; the server is shown with its shape and every request counted."""
    command = [str(venv_with(wheel, "3.13") / "bin" / "threadpulse")]
    gunicorn = app_venv("3.13") / "bin" / "gunicorn"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    users_command = [str(gunicorn), "-w", "1", "--threads", "2", "-b", f"127.0.0.1:{port}",
                     *stack("3.13").gunicorn_flags, "workload:create_app()"]  # fmt: skip
    dash = Dashboard("--", *users_command, command=command, cwd=SHADOW)
    try:
        server = own_server(dash, processes=1)
        assert (server["kind"], server["capacity"], server["url"]) == ("gunicorn gthread", 2, url)
        for _ in range(5):
            assert requests.get(url, timeout=10).text == "served by the user's own workload and dashboard"
        assert settled_done(dash, server["id"], 5) == 5
    finally:
        dash.stop_leaving_nothing()
