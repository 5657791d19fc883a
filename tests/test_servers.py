"""Servers in the model: processes grouped by the server their agent reports, each server with its
own label, capacity, slots and counters, never summed into one (issue 13, item 2)."""

from __future__ import annotations

import json
import re
import socket
from types import SimpleNamespace

import pytest

from dashboard.addresses import base_url, family, host_port, same_address
from dashboard.launch import launcher as launcher_module
from dashboard.launch.address import pick
from dashboard.launch.launcher import Launcher
from dashboard.loadspec.http_request import HttpRequest
from dashboard.loadspec.plan import Plan
from dashboard.model.live import Model
from dashboard.model.servers import serving
from dashboard.model.views import state_view
from tests.support import ROOT
from threadpulse_agent import protocol
from threadpulse_agent.protocol import (
    Datagram,
    Server,
    Source,
    Task,
    begin_event,
    decode_event,
    end_event,
    reply_event,
    sent_event,
)
from threadpulse_agent.server import server_id

MS = 1_000_000
MANAGED = Server("h:100", "gunicorn sync", 2, 1, None, 2, ("127.0.0.1:8001",))
OWN = Server("h:200", "gunicorn gthread", 2, 4, None, 8, ("0.0.0.0:8000",))


class Feed:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.seqs: dict[int, int] = {}

    def send(self, pid: int, server: Server | None, events=(), tasks=None):
        seq = self.seqs[pid] = self.seqs.get(pid, -1) + 1
        source = Source("h", pid, "m", "worker", server)
        self.model.apply(Datagram(source, seq, 0, 0, tasks, tuple(map(decode_event, events))), 0)

    def request(self, pid: int, number: int, status: str = "200") -> None:
        task = Task(pid * 10, "t", "thread", pid * 10)
        self.send(pid, None, [begin_event(task.id, 1 * MS, number, "GET", "/x", "")], (task,))
        self.send(pid, None, [end_event(task.id, 2 * MS, number, status)])


def two_servers() -> tuple[Model, Feed]:
    model = Model("h")
    info = {
        "mode": "gunicorn-sync",
        "status": "serving",
        "capacity": 2,
        "pids": [101, 102],
        "url": "http://127.0.0.1:8001",
    }
    model.set_server(info, 1)
    feed = Feed(model)
    for pid in (101, 102):
        feed.send(pid, MANAGED)
    for pid in (201, 202):
        feed.send(pid, OWN)
    return model, feed


def test_two_servers_are_shown_apart_with_their_own_shape_and_counters():
    """The bug of issue 13: a launched gunicorn -w 2 --threads 4 was drawn in the managed server's
    group with its 2 slots, under "capacity 2", and both servers' requests summed in one "done"."""
    model, feed = two_servers()
    feed.request(101, 0)
    for number in range(3):
        feed.request(201, number)
    feed.request(202, 0, "500")
    state = state_view(model, 0)
    managed, own = state["servers"]
    assert (managed["id"], managed["managed"], managed["capacity"], managed["pids"]) == (
        "h:100",
        True,
        2,
        [101, 102],
    )
    assert (own["id"], own["managed"], own["capacity"], own["pids"]) == ("h:200", False, 8, [201, 202])
    assert own["label"] == "gunicorn gthread 2 × 4 :8000"
    assert own["url"] == "http://127.0.0.1:8000"
    assert managed["counters"] == {"queued": 0, "in_service": 0, "done": 1, "failed": 0}
    assert own["counters"] == {"queued": 0, "in_service": 0, "done": 3, "failed": 1}
    assert state["counters"]["done"] == 4 and state["counters"]["failed"] == 1  # the sum, for the header
    slots = {p["pid"]: (p["server"], p["slots"]) for p in state["processes"]}
    assert slots == {101: ("h:100", 1), 102: ("h:100", 1), 201: ("h:200", 4), 202: ("h:200", 4)}
    json.dumps(state, allow_nan=False)


def test_a_launched_server_is_found_at_the_address_the_launcher_gave():
    model, _ = two_servers()
    model.set_launched("launched", [200, 201, 202], "http://127.0.0.1:9999")
    (own,) = [s for s in state_view(model, 0)["servers"] if s["id"] == "h:200"]
    assert own["url"] == "http://127.0.0.1:9999" and own["label"].endswith(":9999")


def test_a_launched_server_is_a_load_target_by_its_master_before_its_workers_are_listed():
    """The launcher sees gunicorn's master first; the workers it forks report before the
    launcher's next look lists them (CI caught the page without a target in that gap)."""
    model, feed = two_servers()
    own = Server(server_id(300), "gunicorn gthread", 2, 4, None, 8, ("127.0.0.1:9999",))
    for pid in (301, 302):
        feed.send(pid, own)
    model.set_launched("launched", [300], "http://127.0.0.1:9999")
    by_id = {s["id"]: s for s in state_view(model, 0)["servers"]}
    assert (by_id[own.id]["target"], by_id[own.id]["url"]) == ("launched", "http://127.0.0.1:9999")
    assert by_id["h:200"]["target"] is None  # another host's pid 200 is not this host's master


def test_an_attached_server_is_a_load_target_by_the_address_it_reports():
    """`--attach --target http://localhost:8000`: the server reporting 0.0.0.0:8000 is the target;
    no other is, and none once its processes are gone."""
    model, feed = two_servers()
    model.set_launched("attached", [], "http://localhost:8000")
    by_id = {s["id"]: s for s in state_view(model, 0)["servers"]}
    assert (by_id["h:200"]["target"], by_id["h:100"]["target"]) == ("attached", "managed")
    assert serving(model, "attached")
    model.set_launched("attached", [], "http://localhost:8001")
    assert state_view(model, 0)["servers"][1]["target"] is None
    assert not serving(model, "attached")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://localhost:8000", "http://127.0.0.1:8000", True),
        ("http://127.0.0.1:8000/", "http://0.0.0.0:8000", True),
        ("http://[::1]:8000", "http://localhost:8000", True),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8001", False),
        ("http://10.0.0.2:8000", "http://127.0.0.1:8000", False),
        ("http://127.0.0.1:99999", "http://127.0.0.1:99999", False),
    ],
)
def test_two_base_urls_reach_one_server_on_one_port_and_host(a, b, same):
    assert same_address(a, b) is same


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000"),
        ("::", "http://[::1]:8000"),
        ("[::]", "http://[::1]:8000"),
        ("", "http://127.0.0.1:8000"),
        ("10.0.0.2", "http://10.0.0.2:8000"),
        ("::1", "http://[::1]:8000"),
    ],
)
def test_a_server_listening_on_any_address_is_reached_on_loopback(host, url):
    """One rule for the agent's listen address and the launcher's sockets alike."""
    assert base_url(host, 8000) == url


@pytest.mark.parametrize(
    ("host", "written", "bound"),
    [("127.0.0.1", "127.0.0.1:80", "127.0.0.1"), ("::1", "[::1]:80", "::1"), ("[::]", "[::]:80", "::")],
)
def test_an_ipv6_host_is_bracketed_when_written_and_bound_as_ipv6(host, written, bound):
    """One place writes HOST:PORT and picks the socket family (serve, ports, the collector, the
    server manager, mod_wsgi and the audience URL each had their own copy)."""
    assert host_port(host, 80) == written
    with socket.socket(family(bound), socket.SOCK_STREAM) as sock:
        sock.bind((bound, 0))


def test_the_launcher_picks_the_address_named_on_the_command_line():
    """uWSGI's --http also binds an internal socket: the port the user named wins."""
    sockets = [("127.0.0.1", 8000), ("0.0.0.0", 34567)]
    assert pick(sockets, ["uwsgi", "--http", ":34567"]) == "http://127.0.0.1:34567"
    assert pick([("::", 9000)], ["gunicorn"]) == "http://[::1]:9000"
    assert pick(sockets, ["uwsgi"]) is None  # two, none named: not clear yet
    assert pick([("0.0.0.0", 9000), ("::", 9000)], ["flask"]) == "http://127.0.0.1:9000"  # one port


def test_the_launcher_takes_no_address_from_a_server_caught_between_two_binds(monkeypatch, tmp_path):
    """Issue 17, fault 5: gunicorn binds `-b :P1 -b :P2` one by one; a look between the two saw one
    port and took it for the server's only address. An address is taken once two looks agree."""
    seen = iter([[("127.0.0.1", 8001)], *[[("127.0.0.1", 8001), ("127.0.0.1", 8002)]] * 3])
    monkeypatch.setattr(launcher_module, "listening", lambda pids: next(seen))
    monkeypatch.setattr(launcher_module, "guarded_pids", lambda proc: [300])
    published = []
    argv = ["gunicorn", "-b", ":8001", "-b", ":8002", "app"]
    launcher = Launcher(
        None, "udp://127.0.0.1:1", argv, tmp_path, None, lambda *shown: published.append(shown)
    )
    launcher._proc = SimpleNamespace(poll=lambda: None)
    for _ in range(3):
        launcher.check()
    assert published == [([300], None), ([300], None)]  # its pids; again once it is held, with why
    assert launcher.url is None and "several ports (:8001, :8002)" in launcher.unnamed


def test_a_launched_server_without_an_address_shows_none_as_load_has_none():
    """Issue 17, fault 5: a server on two named ports (no --target) showed the agent's first
    address as its url while load from the page refused it: the page and load now agree."""
    model, _ = two_servers()
    model.set_launched("launched", [200, 201, 202], None)
    (own,) = [s for s in state_view(model, 0)["servers"] if s["id"] == "h:200"]
    assert (own["url"], own["target"], own["label"]) == (None, None, "gunicorn gthread 2 × 4")


def test_switching_the_managed_server_keeps_the_other_servers_counts_in_the_sum():
    """The header's done is the sum of the servers': a managed switch restarts only its own."""
    model, feed = two_servers()
    feed.request(101, 0)
    feed.request(201, 0)
    model.set_server(
        {"mode": "gunicorn-sync", "status": "starting", "capacity": 2, "pids": []}, 1, [101, 102]
    )
    state = state_view(model, 0)
    assert [(s["id"], s["status"]) for s in state["servers"]] == [("managed", "starting"), ("h:200", None)]
    assert state["counters"]["done"] == 1


def test_the_managed_server_entry_carries_what_the_status_header_shows():
    """Issue 18: the state carried the managed server twice (a top-level `server` beside its
    `servers` entry) and the queues twice; the header is now drawn from the entry alone."""
    model, feed = two_servers()
    model.server.update(params={"workers": 2}, workers=2, threads=1, error=None)
    feed.request(101, 0)
    state = state_view(model, 0)
    assert "server" not in state and "queues" not in state
    managed, own = state["servers"]
    assert {key: managed[key] for key in ("mode", "params", "status", "error", "capacity")} == {
        "mode": "gunicorn-sync",
        "params": {"workers": 2},
        "status": "serving",
        "error": None,
        "capacity": 2,
    }
    assert managed["queues"] == {"client": 0, "accept_backlog": None, "in_workers": None}
    assert (own["mode"], own["status"], own["error"]) == (None, None, None)  # not the dashboard's to tell


def test_a_managed_server_without_a_process_on_the_page_is_still_listed_with_its_status():
    """A server that failed to start (or is starting) has no process to show, yet the header must
    say so with the reason: its entry stands alone, with the mode's size, and is no load target."""
    model = Model("h")
    failed = {"mode": "gunicorn-gthread", "workers": 2, "threads": 4, "capacity": 8, "pids": []}
    model.set_server({**failed, "status": "failed", "error": "exited with 3"}, 4)
    (server,) = state_view(model, 0)["servers"]
    assert (server["id"], server["managed"], server["status"], server["error"]) == (
        "managed",
        True,
        "failed",
        "exited with 3",
    )
    assert (server["workers"], server["threads"], server["capacity"], server["pids"]) == (2, 4, 8, [])
    assert server["target"] is None and server["label"] == "gunicorn-gthread"
    model.set_server({**failed, "status": "serving", "url": "http://127.0.0.1:8001"}, 4)
    assert state_view(model, 0)["servers"][0]["target"] == "managed"  # load may go before it reports
    assert state_view(Model("h"), 0)["servers"] == []  # no --mode: no managed server


def test_a_burst_no_task_has_taken_yet_is_queued_at_the_server_it_was_sent_to():
    """Issue 18, queues computed once, per server: requests of a run that no task had taken yet
    were queued on the managed server's entry, whichever server the run was sent to."""
    model, _ = two_servers()
    model.set_launched("launched", [200, 201, 202], "http://127.0.0.1:9999")
    for run_id, target in (("r1", "launched"), ("r2", "managed"), ("r3", None)):  # None: an older build's
        model.add_run(run_id, "io", 3, 100, target=target)
        for index in range(3):
            model.runs[run_id].record_sent(index, 0)
    by_id = {s["id"]: s for s in state_view(model, 0)["servers"]}
    assert (by_id["h:200"]["counters"]["queued"], by_id["h:200"]["queues"]["client"]) == (3, 3)
    assert (by_id["h:100"]["counters"]["queued"], by_id["h:100"]["queues"]["client"]) == (6, 6)
    assert state_view(model, 0)["counters"]["queued"] == 9


def test_the_documented_snapshot_names_a_server_entry_as_coded():
    """docs/live-frames.md is the wire's contract: its snapshot's server entry has the fields
    `servers` carries, and it shows no top-level `server` or `queues` (issue 18)."""
    doc = (ROOT / "docs" / "live-frames.md").read_text()
    example = json.loads(re.search(r"```json\n(.*?)```", doc, re.DOTALL)[1])
    model, _ = two_servers()
    assert set(example["servers"][0]) == set(state_view(model, 0)["servers"][0])
    assert "server" not in example and "queues" not in example


def test_requests_counted_before_the_server_was_known_move_with_the_process():
    """A dev server's agent knows its server from the first request's environ only."""
    model = Model("h")
    feed = Feed(model)
    feed.request(301, 0)
    dev = Server("h:301", "werkzeug threaded", 1, None, None, None, ("127.0.0.1:5000",))
    feed.send(301, dev)
    (server,) = state_view(model, 0)["servers"]
    assert server["id"] == "h:301" and server["counters"]["done"] == 1
    assert server["capacity"] is None and server["label"] == "werkzeug threaded, a thread per request :5000"
    assert state_view(model, 0)["processes"][0]["slots"] is None


def test_the_server_shape_travels_with_the_roster_only():
    source = Source("h", 1, "m", "worker", OWN)
    roster, events = protocol.encode_batches(source, iter(range(9)), 0, 0, [end_event(1, 2, 3, "200")], [])
    assert protocol.decode(roster).source.server == OWN
    assert protocol.decode(events).source.server is None


@pytest.mark.parametrize(
    "server",
    [
        "x",
        {"id": 1, "kind": "k", "listen": []},
        {"id": "a", "kind": "k", "workers": -1, "listen": []},
        {"id": "a", "kind": "k", "listen": ["x"] * 9},
        {"id": "a", "kind": "k", "listen": [3]},
    ],
)
def test_a_malformed_server_drops_the_datagram(server):
    body = {"v": protocol.SCHEMA_VERSION, "seq": 0, "dropped": 0, "t": 0, "ev": []}
    body["src"] = {"host": "h", "pid": 1, "mode": "m", "role": "worker", "server": server}
    with pytest.raises(protocol.ProtocolError, match="bad_field"):
        protocol.decode(json.dumps(body).encode())


def test_a_sustained_runs_waiting_and_refused_requests_count_at_the_server_it_loads():
    """Issue 18 (found by mypy): a sustained run never noted the process its requests began in, so
    the model could not tell its server. Its requests waiting at the client were shown queued at
    the managed server, and a reply refused before any task took it was charged to no server."""
    model, feed = two_servers()
    model.add_sustained("r1", Plan(HttpRequest("GET", "/x"), 2, 10), 0, "launched", managed=False)
    loadgen = Source("h", 99, "loadgen", "loadgen")
    sent = [sent_event("r1", index, 0) for index in range(3)]
    model.apply(Datagram(loadgen, 0, 0, 0, None, tuple(map(decode_event, sent))), 0)
    task = Task(2010, "t", "thread", 2010)
    feed.send(201, None, [begin_event(task.id, 1 * MS, 0, "GET", "/x", "r1/0/0")], (task,))
    managed, own = state_view(model, 0)["servers"]
    assert (managed["counters"]["queued"], own["counters"]["queued"]) == (0, 2)
    refused = [reply_event("r1", 2, 2 * MS, 503)]
    model.apply(Datagram(loadgen, 1, 0, 0, None, tuple(map(decode_event, refused))), 0)
    managed, own = state_view(model, 0)["servers"]
    assert (own["counters"]["queued"], own["counters"]["failed"], managed["counters"]["failed"]) == (1, 1, 0)
