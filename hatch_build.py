"""The wheel's browser libraries, built from the lockfile at build time: `npm ci` of package.json's
dependencies (no dev tools) in a temporary folder, so a checkout's own node_modules is left as it
is, and nothing third-party is committed. They land where a checkout has them, under
dashboard/bundled/node_modules/ (dashboard/files.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# What the pages load (dashboard/files.py names them, dashboard/web/pages.py serves them, the report
# inlines plotly.js), and the licences that go with them.
BROWSER_FILES = (
    "socket.io-client/dist/socket.io.min.js",
    "socket.io-client/LICENSE",
    "plotly.js-basic-dist-min/plotly-basic.min.js",
    "plotly.js-basic-dist-min/LICENSE",
)


class BrowserLibraries(BuildHookInterface):
    """Runs `npm ci` from package-lock.json into a temporary folder and adds BROWSER_FILES."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        npm = shutil.which("npm")
        if npm is None:
            sys.exit(
                "threadpulse: building the wheel needs npm (the browser libraries come from"
                " package-lock.json): install Node.js with npm, then build again"
            )
        self._folder = Path(tempfile.mkdtemp(prefix="threadpulse-npm-"))
        for name in ("package.json", "package-lock.json"):
            shutil.copy(Path(self.root) / name, self._folder / name)
        command = [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]
        subprocess.run(command, cwd=self._folder, check=True, stdout=sys.stderr)
        for name in BROWSER_FILES:
            build_data["force_include"][str(self._folder / "node_modules" / name)] = (
                f"dashboard/bundled/node_modules/{name}"
            )

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
