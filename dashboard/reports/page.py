"""The report as one HTML file that opens offline: plotly.js (the same partial bundle the live page
loads, dashboard/files.py), the page's CSS and its own ES modules from static/, all inlined; no
other asset, no network.

The modules stay modules: each becomes a `data:` URL named in an import map, and their relative
imports (`from "./dom.js"`) are rewritten to those names, since a `data:` URL has no folder to
resolve a relative import against. Nothing else in them is touched."""

from __future__ import annotations

import base64
import re
from functools import cache

from flask import render_template

from dashboard.files import PLOTLY_JS, PROJECT_ROOT

JS = PROJECT_ROOT / "static" / "js"
CSS = (PROJECT_ROOT / "static" / "css" / "dashboard.css", PROJECT_ROOT / "static" / "css" / "report.css")
ENTRY = "report.js"
PREFIX = "threadpulse/"  # a bare specifier: resolved only through the import map
IMPORT = re.compile(r'(\bfrom\s*|\bimport\s*)"\./([\w-]+\.js)"')


def render_report(data: dict) -> str:
    """The report's HTML: `data` (report.report_data) as the page's bootstrap, assets inlined."""
    imports, entry = _modules()
    return render_template(
        "report.html",
        bootstrap=data,
        css=_css(),
        plotly_js=_plotly_js(),
        import_map={"imports": imports},
        entry=entry,
    )


@cache
def _plotly_js() -> str:
    # A `</script` in it would end the report's script early (plotly.js has none today).
    return PLOTLY_JS.read_text(encoding="utf-8").replace("</script", "<\\/script")


@cache
def _css() -> str:
    return "\n".join(path.read_text() for path in CSS).replace("</style", "<\\/style")


@cache
def _modules() -> tuple[dict[str, str], str]:
    """The import map (bare name -> data: URL) of every module the entry needs, and the entry's URL."""
    urls: dict[str, str] = {}
    pending = [ENTRY]
    while pending:
        name = pending.pop()
        if PREFIX + name in urls:
            continue
        source = (JS / name).read_text()
        pending.extend(match[2] for match in IMPORT.finditer(source))
        rewritten = IMPORT.sub(lambda match: f'{match[1]}"{PREFIX}{match[2]}"', source)
        urls[PREFIX + name] = "data:text/javascript;base64," + base64.b64encode(rewritten.encode()).decode()
    entry = urls.pop(PREFIX + ENTRY)
    return urls, entry
