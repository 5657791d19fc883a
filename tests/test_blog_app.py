"""The third-party test app (tests/apps/blog) works on its own, before Threadpulse watches it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

APPS = Path(__file__).parent / "apps"


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(APPS))
    from blog import create_app

    yield create_app(str(tmp_path / "blog.sqlite")).test_client()
    for name in [m for m in sys.modules if m == "blog" or m.startswith("blog.")]:
        del sys.modules[name]


def test_pages_render_posts_from_the_database(client):
    """The template-and-database routes the overhead benchmark drives."""
    index = client.get("/")
    assert index.status_code == 200 and b"Post 20" in index.data
    post = client.get("/post/7")
    assert post.status_code == 200 and b"The body of post 7." in post.data
    assert client.get("/post/999").status_code == 404


def test_api_routes_take_parameters_and_refuse_bad_ones(client):
    assert client.get("/api/posts/3").get_json() == {"id": 3, "title": "Post 3"}
    assert client.get("/api/slow?ms=0").get_json() == {"waited_ms": 0}
    assert client.get("/api/slow?ms=x").status_code == 400
