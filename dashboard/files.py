"""Where Threadpulse's own files are: templates/, static/, the default talk (scenes/), the demo app
(workload/), the browser libraries (node_modules/) and the requirements files. A checkout has them beside
the dashboard package; the wheel carries them inside it, in dashboard/bundled/ (pyproject.toml,
hatch_build.py), since a top-level `templates` or `workload` in site-packages would clash with
other projects' and users' own."""

from pathlib import Path

BUNDLED = Path(__file__).resolve().parent / "bundled"
PROJECT_ROOT = BUNDLED if BUNDLED.is_dir() else BUNDLED.parent.parent
NODE_MODULES = PROJECT_ROOT / "node_modules"
SOCKET_IO_CLIENT = NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js"
# plotly.js's partial bundle of the basic traces (scatter, bar, pie; the charts draw only scatter):
# 1.2 MB where the full one is 4.8 MB. The live page loads it and the report inlines it.
PLOTLY_JS = NODE_MODULES / "plotly.js-basic-dist-min" / "plotly-basic.min.js"
