"""Routes, not raw paths (dashboard/model/routes.py): the normaliser, the per-route figures, the
model's route on each request, and the agent's route from a real Flask app under gunicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
import requests

from dashboard.model.live import Model
from dashboard.model.routes import (
    BUCKETS_S,
    MAX_ROUTES,
    MAX_STATUSES,
    OTHER_ROUTE,
    OTHER_STATUS,
    Histogram,
    RouteBook,
    normalise,
)
from dashboard.model.views import spans_view, state_view
from dashboard.servers.manager import free_port
from tests.support import ROOT, udp_listener, wait_for
from threadpulse_agent.protocol import Begin, End, Source, Task, begin_event, decode, encode, end_event

MS = 1_000_000
WORKER = Source("h", 10, "gunicorn-gthread", "worker")


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/hello", "/hello"),
        ("/io?ms=300", "/io"),
        ("/post/42", "/post/<id>"),
        ("/post/42/comments/7?page=2", "/post/<id>/comments/<id>"),
        ("/u/3f2a9c1e77/edit", "/u/<id>/edit"),
        ("/objects/507f1f77bcf86cd799439011", "/objects/<id>"),
        ("/files/123e4567-e89b-12d3-a456-426614174000", "/files/<id>"),
        ("/about/facade", "/about/facade"),  # hex letters only: a word, not an id
        ("/v2/items", "/v2/items"),  # a version, not an id
        ("/cafe1", "/cafe1"),  # too short for a hex id
        ("/n/²", "/n/²"),  # '²'.isdigit() is True: not a number of the URL's
        ("/", "/"),
        ("", "/"),
        ("/static/app.js", "/static/app.js"),
    ],
)
def test_the_normaliser_replaces_ids_and_drops_the_query(path, route):
    """Issue 13, item 4: a thousand URLs of one kind are one route; words and versions stay."""
    assert normalise(path) == route


def test_histogram_buckets_are_cumulative_and_end_at_inf():
    """Prometheus's histogram law: bucket counts never fall, and +Inf counts every observation."""
    histogram = Histogram()
    for seconds in (0.001, 0.005, 0.3, 0.3, 99.0):
        histogram.observe(seconds)
    buckets = histogram.cumulative()
    assert [bound for bound, _ in buckets] == [*map(str, BUCKETS_S), "+Inf"]
    assert dict(buckets)["0.005"] == 2 and dict(buckets)["0.5"] == 4 and dict(buckets)["+Inf"] == 5
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:], strict=False))
    assert histogram.count == 5 and histogram.sum_s == pytest.approx(99.606)


def test_a_route_learned_from_the_agent_names_its_paths_before_they_end():
    """A request in service is shown under the rule its path's fellows ended with, so its colour
    does not change when it ends."""
    book = RouteBook()
    assert book.guess("s", "/post/3") == "/post/<id>"
    assert book.end("s", "/post/1", "/post/<int:post_id>", "200", None, 0.01) == "/post/<int:post_id>"
    assert book.guess("s", "/post/3") == "/post/<int:post_id>"
    assert book.end("s", "/post/9", None, "404", None, 0.01) == "/post/<int:post_id>"
    assert book.guess("other-server", "/post/3") == "/post/<id>"


def test_routes_and_statuses_past_their_caps_fall_under_other():
    """Junk paths cannot grow the model or /metrics' series without bound."""
    book = RouteBook()
    for i in range(MAX_ROUTES + 5):
        book.end("s", f"/page-{i}", None, "200", None, 0.001)
    figures = book.servers["s"].figures
    assert len(figures) == MAX_ROUTES + 1 and figures[OTHER_ROUTE].statuses == {"200": 5}
    for code in range(MAX_STATUSES + 3):
        book.end("s", "/page-0", None, str(300 + code), None, 0.001)
    assert len(figures["/page-0"].statuses) == MAX_STATUSES + 1
    assert figures["/page-0"].statuses[OTHER_STATUS] == 4


def test_the_model_keeps_the_agents_route_on_spans_and_counts_by_route():
    """The end event's route names the span; without one (an older agent) the path's shape does;
    the wait histogram takes only requests whose send time is known."""
    model = Model("h")
    model.set_server({"mode": "gunicorn-gthread", "status": "serving", "capacity": 4}, 4)
    events = [
        begin_event(5, 10 * MS, 0, "GET", "/post/7", ""),
        end_event(5, 30 * MS, 0, "200", "/post/<int:post_id>"),
        begin_event(5, 40 * MS, 1, "GET", "/tag/abc/12", ""),
        ["end", 5, 50 * MS, 1, "500"],  # an agent of before the route: 4 fields
    ]
    datagram = decode(encode(WORKER, 0, 0, 0, events, [Task(5, "T0", "thread", 5)]))
    assert datagram.events[-1] == End(5, 50 * MS, 1, "500", None)
    model.apply(datagram, 60 * MS)
    spans = spans_view(model, 60 * MS)
    assert [(span.path, span.route) for span in spans] == [
        ("/post/7", "/post/<int:post_id>"),
        ("/tag/abc/12", "/tag/abc/<id>"),
    ]
    figures = model.routes.servers[model.sources.local(WORKER.pid).server].figures
    assert figures["/post/<int:post_id>"].statuses == {"200": 1}
    assert figures["/post/<int:post_id>"].service.sum_s == pytest.approx(0.02)
    assert figures["/tag/abc/<id>"].statuses == {"500": 1}
    assert figures["/tag/abc/<id>"].queue_wait.count == 0


def test_a_request_in_service_carries_its_route_in_the_state():
    model = Model("h")
    model.set_server({"mode": "gunicorn-gthread", "status": "serving", "capacity": 4}, 4)
    datagram = decode(
        encode(WORKER, 0, 0, 0, [begin_event(5, MS, 0, "GET", "/io?ms=5", "")], [Task(5, "T", "thread", 5)])
    )
    model.apply(datagram, 2 * MS)
    (task,) = state_view(model, 2 * MS)["processes"][0]["tasks"]
    assert task["request"]["route"] == "/io"


def test_a_retired_server_takes_its_route_figures_with_it_as_its_counters():
    model = Model("h")
    model.set_server({"mode": "gunicorn-gthread", "status": "serving", "capacity": 4}, 4)
    model.apply(decode(encode(WORKER, 0, 0, 0, [], [Task(5, "T", "thread", 5)])), MS)
    server = model.sources.local(WORKER.pid).server
    model.routes.end(server, "/io", None, "200", None, 0.001)
    model.set_server({"mode": "gunicorn-gthread", "status": "starting", "capacity": 4}, 4, [WORKER.pid])
    assert server not in model.routes.servers


# -- the agent's route from a real Flask app under a real gunicorn worker ----------------------------

WRAPPER = """\
from blog import create_app
from threadpulse_agent import instrument

app = create_app()
app.wsgi_app = instrument(app.wsgi_app)  # the documented manual way: the app's code is not edited
"""


@pytest.fixture
def blog_under_gunicorn(tmp_path):
    """tests/apps/blog, unchanged, wrapped by hand in the agent, served by gunicorn gthread 1 × 2;
    its agent reports to a UDP socket of the test's."""
    with udp_listener(0.2) as collector:
        yield from _blog_served(tmp_path, collector)


def _blog_served(tmp_path, collector: socket.socket):
    (tmp_path / "blog_wsgi.py").write_text(WRAPPER)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "tests" / "apps"), str(ROOT)]),
        "THREADPULSE_COLLECTOR": f"udp://127.0.0.1:{collector.getsockname()[1]}",
        "BLOG_DATABASE": str(tmp_path / "blog.sqlite"),
    }
    argv = ["-m", "gunicorn", "-w", "1", "--threads", "2", "--no-control-socket"]
    server = subprocess.Popen(
        [sys.executable, *argv, "-b", f"127.0.0.1:{port}", "blog_wsgi:app"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url + "/"), timeout=30, what="gunicorn to serve the blog")
        yield url, collector
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_the_agent_names_a_flask_route_with_a_parameter_under_gunicorn(blog_under_gunicorn):
    """Issue 13, item 4: the route is Flask's url_rule (read from the environ's werkzeug request when
    the app starts its response: Flask empties it before it returns),
    with its converter, for a page and an API route of a blueprint; none for a path no rule matched."""
    url, collector = blog_under_gunicorn
    for path in ("/post/7", "/post/8", "/api/posts/3", "/no/such/page"):
        requests.get(url + path, timeout=10)
    paths: dict[int, str] = {}  # request number -> path, from its begin (maybe an earlier datagram)
    routes: dict[str, str | None] = {}  # path -> route, from its end

    def all_ended() -> bool:
        try:
            datagram = decode(collector.recv(65_535))
        except TimeoutError:
            return False
        for event in datagram.events:
            if isinstance(event, Begin):
                paths[event.request] = event.path
            elif isinstance(event, End):
                routes[paths[event.request]] = event.route
        return {"/post/7", "/post/8", "/api/posts/3", "/no/such/page"} <= set(routes)

    wait_for(all_ended, timeout=20, interval=0, what="the four requests' end events")
    assert routes["/post/7"] == routes["/post/8"] == "/post/<int:post_id>"
    assert routes["/api/posts/3"] == "/api/posts/<int:post_id>"
    assert routes["/no/such/page"] is None
