"""Viewers and the presenter: only the presenter's token (or, on a laptop, a page of this machine)
changes anything; the load generator is no open proxy and has caps; Socket.IO keeps to its origin.

The rules are checked in-process on the Flask app, then on one real dashboard listening beyond
loopback, which must generate a token and print it once, and never log it.
"""

from __future__ import annotations

import json
import re

import pytest
import websocket

from dashboard.cli.run import parse_args
from dashboard.loadspec.limits import MAX_ACTIVE_RUNS, MAX_COUNT, MAX_MS, BadLoadRequest, RunRate
from dashboard.web import auth
from tests.support import Dashboard, Viewer, wait_for

TOKEN = "s3cret-Token_0123"
ALLOWED = "http://talk.example:8080"
HEADER = auth.TOKEN_HEADER


# -- the rules, in-process ------------------------------------------------------------------------


@pytest.fixture
def app_with(client_with):
    """A test client of the dashboard's app with a given token (and one allowed origin)."""
    return lambda token: client_with(token=token, allowed_origins=(ALLOWED,))


def stop(client, **headers: str):
    return client.post("/api/load/stop", headers=headers)


def test_on_a_laptop_a_page_of_this_machine_acts_without_a_token(app_with):
    laptop = app_with(None)
    assert stop(laptop).json == {"stopped": []}
    assert stop(laptop, Host="localhost:8050").status_code == 200
    assert stop(laptop, Host="[::1]:8050", Origin="http://[::1]:8050").status_code == 200
    assert stop(laptop, Origin=ALLOWED).status_code == 200
    assert laptop.get("/api/health").json == {**laptop.get("/api/health").json, "presenter_required": False}


def test_another_site_or_a_rebound_dns_name_may_not_act(app_with):
    """A page of another site (its Origin), even with the token; or, on a laptop, one reaching
    loopback by a name its site controls (DNS rebinding)."""
    for reply in (
        stop(app_with(None), Origin="http://evil.example"),
        stop(app_with(None), Host="evil.example:8050"),
        stop(app_with(TOKEN), Origin="http://evil.example", **{HEADER: TOKEN}),
    ):
        assert reply.status_code == 403
        assert reply.json["error"]


@pytest.mark.parametrize(
    "given", ["", "wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), " " + TOKEN, "é" * 17]
)
def test_with_a_token_only_its_exact_value_in_the_header_acts(app_with, given):
    client = app_with(TOKEN)
    for path in ("/api/load", "/api/load/sustained", "/api/server", "/api/load/stop"):
        for reply in (
            client.post(path, json={}, headers={HEADER: given}),
            client.post(path, json={}),
            client.post(f"{path}?token={TOKEN}", json={}),  # header only: URLs end up in logs
        ):
            assert reply.status_code == 403, (path, reply.json)
            assert TOKEN not in reply.get_data(as_text=True)
    assert client.post("/api/load/stop", headers={HEADER.lower(): TOKEN}).status_code == 200
    assert client.get("/api/health", headers={HEADER: TOKEN}).json["presenter"] is True
    assert client.get("/api/health", headers={HEADER: given}).json["presenter"] is False


def test_the_token_is_compared_in_constant_time(monkeypatch):
    calls = []
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or a == b)
    assert auth.token_matches(TOKEN, TOKEN)
    assert not auth.token_matches("x" * len(TOKEN), TOKEN)
    assert len(calls) == 2


@pytest.mark.parametrize("token", [None, TOKEN])
def test_the_page_says_whether_a_token_is_needed_and_never_carries_it(app_with, token):
    client = app_with(token)
    page = client.get(f"/?token={TOKEN}").get_data(as_text=True)
    bootstrap = re.search(r'<script id="bootstrap" type="application/json">(.*?)</script>', page)
    assert json.loads(bootstrap[1])["presenter_required"] is (token is not None)
    assert TOKEN not in page
    assert TOKEN not in client.get("/api/health", headers={HEADER: TOKEN}).get_data(as_text=True)


def test_loopback_needs_no_token_and_any_other_address_gets_a_generated_one(monkeypatch):
    monkeypatch.delenv(auth.ENV_TOKEN, raising=False)
    assert parse_args([]).token is None
    assert parse_args(["--host", "localhost"]).token is None
    wide = parse_args(["--host", "0.0.0.0"])
    assert wide.token_generated and len(wide.token) >= 32
    assert parse_args(["--host", "0.0.0.0"]).token != wide.token
    given = parse_args(["--host", "0.0.0.0", "--token", TOKEN])
    assert (given.token, given.token_generated) == (TOKEN, False)
    monkeypatch.setenv(auth.ENV_TOKEN, TOKEN)
    assert parse_args([]).token == TOKEN
    assert parse_args(["--allowed-origin", ALLOWED]).allowed_origins == (ALLOWED,)


@pytest.mark.parametrize(
    "argv", [["--token", "short"], ["--token", "has space in it"], ["--allowed-origin", "evil.example"]]
)
def test_unusable_tokens_and_origins_are_refused_at_start(argv, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    error = capsys.readouterr().err
    assert "error:" in error
    if argv[0] == "--token":
        assert argv[1] not in error


def test_bursts_beyond_the_rate_cap_are_refused_until_the_minute_has_passed():
    rate = RunRate(most=3, window_s=60)
    for t in (0, 1, 2):
        rate.admit(t)
    with pytest.raises(BadLoadRequest, match="at most 3 bursts a minute; try again in 58 s"):
        rate.admit(2)
    rate.admit(60)
    with pytest.raises(BadLoadRequest, match="try again in 1 s"):
        rate.admit(60.5)


# -- a real dashboard beyond loopback ------------------------------------------------------------


@pytest.fixture(scope="module")
def wide():
    """A dashboard on every address, no token given: it must make one and print it."""
    dash = Dashboard("--host", "0.0.0.0", "--workers", "1", "--threads", "2", "--allowed-origin", ALLOWED)
    try:
        dash.wait_serving()
        dash.token = wait_for(
            lambda: (
                (m := re.search(r"Presenter URL.*: http://0\.0\.0\.0:\d+/\?token=(\S+)", dash.log())) and m[1]
            ),
            10,
            what="the presenter URL on the console",
        )
        yield dash
    finally:
        dash.stop_leaving_nothing(10)


def fingerprint(dash: Dashboard) -> dict:
    server = dash.get("/api/server").json()
    return {"server": server, "runs": [(r["id"], r["state"]) for r in dash.get("/api/state").json()["runs"]]}


@pytest.mark.integration
def test_a_viewer_can_watch_but_not_act(wide):
    before = fingerprint(wide)
    health = wide.get("/api/health").json()
    assert health["presenter_required"] is True and health["presenter"] is False
    info = before["server"]
    for path, body in [
        ("/api/load", {"endpoint": "io", "count": 1, "ms": 100}),
        ("/api/server", {"mode": info["mode"], "workers": 1, "threads": 2}),
        ("/api/load/stop", None),
    ]:
        for headers in ({}, {HEADER: "guess"}, {HEADER: wide.token[:-1]}):
            reply = wide.post(path, body, headers=headers)
            assert reply.status_code == 403 and reply.json()["error"], reply.text
    assert fingerprint(wide) == before
    viewer = Viewer(wide.url)  # watching needs no token
    try:
        wait_for(lambda: viewer.view, 5, what="a snapshot")
    finally:
        viewer.close()


@pytest.mark.integration
def test_the_presenter_fires_up_to_the_caps_and_stops_every_burst(wide):
    """POST /api/load/stop ends every running burst as failed, saying who stopped it."""
    presenter = {HEADER: wide.token}
    for body in (
        {"endpoint": "io", "count": MAX_COUNT + 1, "ms": 1},
        {"endpoint": "io", "count": 1, "ms": MAX_MS + 1},
        {"endpoint": "io", "count": MAX_COUNT, "ms": MAX_MS},
        {"endpoint": "io", "count": 1, "ms": 1, "url": "http://evil.example/"},
    ):
        reply = wide.post("/api/load", body, headers=presenter)
        assert reply.status_code == 400 and reply.json()["error"], reply.text
    runs = []
    for _ in range(MAX_ACTIVE_RUNS):
        reply = wide.post("/api/load", {"endpoint": "io", "count": 1, "ms": 20_000}, headers=presenter)
        assert reply.status_code == 202, reply.text
        runs.append(reply.json()["run"])
    refused = wide.post("/api/load", {"endpoint": "hello", "count": 1}, headers=presenter)
    assert refused.status_code == 400 and "already running" in refused.json()["error"]

    stopped = wide.post("/api/load/stop", headers=presenter)
    assert stopped.status_code == 200 and sorted(stopped.json()["stopped"]) == sorted(runs)
    for run in runs:
        result = wide.get(f"/api/runs/{run}").json()
        assert (result["state"], result["reason"]) == ("failed", "stopped by the presenter")
    assert wide.post("/api/load/stop", headers=presenter).json() == {"stopped": []}
    again = wide.post("/api/load", {"endpoint": "hello", "count": 1}, headers=presenter)
    assert again.status_code == 202  # the slots are free again (the server still ends the requests)
    assert wide.post("/api/load/stop", headers=presenter).json()["stopped"] in ([], [again.json()["run"]])


@pytest.mark.integration
def test_socketio_refuses_a_foreign_origin_and_accepts_its_own_and_the_configured_ones(wide):
    """Both transports: the polling handshake and the WebSocket upgrade."""
    handshake = "/socket.io/?EIO=4&transport="
    for origin, code in (("http://evil.example", 400), (wide.url, 200), (ALLOWED, 200)):
        assert wide.get(handshake + "polling", headers={"Origin": origin}).status_code == code, origin
    upgrade = wide.url.replace("http", "ws") + handshake + "websocket"
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(upgrade, origin="http://evil.example")
    websocket.create_connection(upgrade, origin=ALLOWED).close()


@pytest.mark.integration
def test_the_generated_token_is_printed_once_and_never_logged(wide):
    """Runs after the others: refused and accepted requests alike leave no trace of it."""
    log = wide.log_path.read_text(errors="replace")
    assert log.count(wide.token) == 1
    (line,) = [line for line in log.splitlines() if wide.token in line]
    assert line.startswith("Presenter URL")


# -- a real dashboard on loopback: reads too refuse a foreign Host (DNS rebinding) -----------------

READS = ["/", "/static/js/main.js", "/vendor/socket.io.min.js", "/api/state", "/api/health", "/api/server",
         "/api/history", "/no-such-page", "/socket.io/?EIO=4&transport=polling"]  # fmt: skip


@pytest.mark.integration
@pytest.mark.parametrize("path", READS)
def test_on_loopback_every_read_refuses_a_foreign_host_and_serves_its_own(dashboard, path):
    """Issue 10, fault 8: with `Host: evil.example:PORT` (a name rebound to 127.0.0.1 by the site
    that owns it) the Socket.IO handshake and GET /api/state answered 200 with the full state."""
    port = dashboard.port
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
        reply = dashboard.get(path, headers={"Host": host})
        assert reply.status_code == 403 and reply.json()["error"], (host, reply.text[:200])
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LocalHost:{port}"):
        reply = dashboard.get(path, headers={"Host": host})
        assert reply.status_code == (404 if path == "/no-such-page" else 200), (host, reply.text[:200])


@pytest.mark.integration
def test_on_loopback_the_websocket_upgrade_refuses_a_foreign_host(dashboard):
    """A rebound page is same-origin with the dashboard: its Origin matches its Host."""
    upgrade = dashboard.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    evil, own = f"evil.example:{dashboard.port}", f"localhost:{dashboard.port}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(upgrade, host=evil, origin=f"http://{evil}", timeout=5)
    assert refused.value.status_code == 403
    websocket.create_connection(upgrade, host=own, origin=f"http://{own}", timeout=5).close()


@pytest.mark.integration
def test_beyond_loopback_any_host_name_reads(wide):
    """A talk room reaches the dashboard by names of its own: there the token guards actions."""
    for path in ("/", "/api/state"):
        assert wide.get(path, headers={"Host": "talk.example:8080"}).status_code == 200
