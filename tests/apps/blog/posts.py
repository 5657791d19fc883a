"""The HTML pages: a list of posts and one post, rendered from the database."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from blog.db import get_db

posts = Blueprint("posts", __name__)


@posts.get("/")
def index() -> str:
    rows = get_db().execute("SELECT id, title FROM post ORDER BY id DESC").fetchall()
    return render_template("index.html", posts=rows)


@posts.get("/post/<int:post_id>")
def show(post_id: int) -> str:
    row = get_db().execute("SELECT id, title, body FROM post WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        abort(404)
    return render_template("post.html", post=row)
