"""A JSON API beside the pages, with a route that waits on a (pretend) upstream service."""

from __future__ import annotations

import time

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from blog.db import get_db

api = Blueprint("api", __name__)
MAX_SLOW_MS = 10_000


@api.get("/posts/<int:post_id>")
def post(post_id: int) -> ResponseReturnValue:
    row = get_db().execute("SELECT id, title FROM post WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        abort(404)
    return jsonify(id=row["id"], title=row["title"])


@api.get("/slow")
def slow() -> ResponseReturnValue:
    """Stands for a call to a slow upstream service: it waits `ms` milliseconds."""
    ms = request.args.get("ms", "300")
    if not ms.isdecimal() or int(ms) > MAX_SLOW_MS:
        return jsonify(error=f"ms must be a whole number from 0 to {MAX_SLOW_MS}"), 400
    time.sleep(int(ms) / 1000)
    return jsonify(waited_ms=int(ms))
