"""A small blog: the shape of a real Flask app (factory, blueprints, templates, SQLite)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from blog import db
from blog.api import api
from blog.posts import posts


def create_app(database: str | None = None) -> Flask:
    """The app, with its database created and seeded on first use."""
    app = Flask(__name__, instance_relative_config=True)
    app.config["DATABASE"] = (
        database or os.environ.get("BLOG_DATABASE") or str(Path(app.instance_path) / "blog.sqlite")
    )
    Path(app.config["DATABASE"]).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    app.register_blueprint(posts)
    app.register_blueprint(api, url_prefix="/api")
    return app
