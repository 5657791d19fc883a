"""One SQLite connection per request, created on first use and closed at teardown."""

from __future__ import annotations

import sqlite3

from flask import Flask, current_app, g

SCHEMA = """
CREATE TABLE IF NOT EXISTS post (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
"""
SEED_POSTS = 20


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"], timeout=10)
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def init_db(app: Flask) -> None:
    """Create the table and seed it once; safe when several workers start together."""
    with sqlite3.connect(app.config["DATABASE"], timeout=10) as connection:
        connection.executescript(SCHEMA)
        connection.executemany(
            "INSERT OR IGNORE INTO post (id, title, body) VALUES (?, ?, ?)",
            [(n, f"Post {n}", f"The body of post {n}. " * 20) for n in range(1, SEED_POSTS + 1)],
        )


def init_app(app: Flask) -> None:
    init_db(app)
    app.teardown_appcontext(close_db)
