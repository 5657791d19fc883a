"""The collector thread on a real UDP socket: datagrams and /proc samples folded into the model."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import threading

import psutil
import pytest
from playwright.sync_api import expect

from dashboard.collector.udp import Collector, _what_to_sample
from dashboard.model.events import ServerChanged
from dashboard.model.live import Model
from dashboard.model.servers import servers_view
from dashboard.model.store import Store
from dashboard.model.views import state_view, task_detail
from tests.support import Viewer, page_at, wait_for
from tests.test_metrics import parse, value
from threadpulse_agent.protocol import Source, Task, begin_event, decode, encode, end_event
from threadpulse_agent.reporter import parse_collector, this_host

ME = Source(this_host(), os.getpid(), "gunicorn-gthread", "worker")
FLOOD = 30_000  # x ~830 bytes of kernel memory each: well over the 8 MiB receive buffer


class Agent:
    """Sends datagrams to a collector from a real UDP socket, numbered as a reporter numbers them."""

    def __init__(self, collector: Collector, source: Source = ME) -> None:
        self.address = parse_collector(collector.url)  # the URL the dashboard hands its agents
        self.sock = socket.socket(
            socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET, socket.SOCK_DGRAM
        )
        self.source = source
        self._seqs = itertools.count()

    def send(self, events=(), tasks=None) -> None:
        self.send_bytes(encode(self.source, next(self._seqs), 0, 0, list(events), tasks))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendto(data, self.address)

    def close(self) -> None:
        self.sock.close()


def started(model: Model | None = None, host: str = "127.0.0.1") -> tuple[Collector, Store]:
    store = Store(model or Model())
    collector = Collector(store, host)
    collector.start()
    return collector, store


@pytest.fixture
def collector():
    collector, store = started()
    agent = Agent(collector)
    yield collector, store, agent
    agent.close()
    collector.stop()


def poll(store: Store, fn, what: str):
    """Wait until `fn(model)` is truthy, reading the model as the API does (under the store's lock)."""
    return wait_for(lambda: store.use(fn), what=what)


def tasks_of(model: Model) -> list[dict]:
    processes = state_view(model, 0)["processes"]
    return processes[0]["tasks"] if processes else []


def test_a_request_sent_over_udp_moves_its_task_through_the_model(collector):
    """Agents only send; the collector is the model's one writer, and folds what arrives."""
    _, store, agent = collector
    agent.send([begin_event(7, 100, 0, "GET", "/io", "")], [Task(7, "T0", "thread", 7)])
    (task,) = poll(store, lambda m: [t for t in tasks_of(m) if t["state"] == "running"], "a running task")
    assert task["request"]["path"] == "/io"
    agent.send([end_event(7, 200, 0, "200")])
    poll(store, lambda m: m.counters(0)["done"] == 1, "the request done")
    assert store.use(tasks_of)[0]["state"] == "idle"


def test_junk_datagrams_are_counted_by_reason_and_the_collector_reads_on(collector):
    """Bad input changes nothing but a counter; what comes after it is still folded."""
    _, store, agent = collector
    agent.send_bytes(b"")
    agent.send_bytes(b"not json")
    agent.send(tasks=[Task(7, "T0", "thread", 7)])
    poll(store, lambda m: m.processes and m.rejected == {"empty": 1, "not_json": 1}, "both counted")


class FailsOnce(Model):
    """A model whose first fold raises, as a datagram the decoder passed but the model did not foresee."""

    failed = False

    def apply(self, datagram, now_ns) -> None:
        if not self.failed:
            self.failed = True
            raise KeyError("unforeseen")
        super().apply(datagram, now_ns)


def test_a_fold_that_raises_is_logged_counted_and_the_collector_outlives_it(caplog):
    """The model's one writer must not die of one datagram: the page would freeze for good."""
    collector, store = started(FailsOnce())
    agent = Agent(collector)
    try:
        with caplog.at_level(logging.ERROR, logger="dashboard.collector.udp"):
            agent.send(tasks=[Task(7, "T0", "thread", 7)])
            poll(store, lambda m: m.failed, "the failed fold")
            agent.send(tasks=[Task(7, "T0", "thread", 7)])
            poll(store, lambda m: m.processes, "the next datagram folded")
            assert store.use(lambda m: m.rejected) == {"failed_datagram": 1}
    finally:
        agent.close()
        collector.stop()
    assert "a datagram failed" in caplog.text


def test_a_datagram_is_folded_while_a_proc_round_is_still_running(monkeypatch):
    """A /proc round runs 16-100 ms on a busy machine; on the collector's one thread a datagram
    that came meanwhile waited for the round's end, and a click's first lit tile with it. The
    round is held here (a slow /proc cannot be made to order) while a request arrives."""
    entered, release = threading.Event(), threading.Event()

    def held(pid, tids):
        entered.set()
        release.wait(30)

    monkeypatch.setattr("dashboard.collector.udp.sample_process", held)
    collector, store = started()
    agent = Agent(collector)
    try:
        agent.send(tasks=[Task(7, "T0", "thread", 7)])
        assert entered.wait(30), "no /proc round began"
        agent.send([begin_event(7, 100, 0, "GET", "/io", "")])
        poll(store, lambda m: [t for t in tasks_of(m) if t["state"] == "running"], "the request folded")
    finally:
        release.set()
        agent.close()
        collector.stop()


def test_a_reported_thread_gets_its_cpu_read_from_proc(collector):
    """The agent reads no CPU (GIL-bound, ~380 ms a call): the collector samples /proc by itself."""
    _, store, agent = collector
    tid = threading.get_native_id()
    agent.send([begin_event(tid, 0, 0, "GET", "/cpu", "")], [Task(tid, "MainThread", "thread", tid)])

    def judged(model: Model) -> dict | None:
        process = model.sources.local(ME.pid)
        task = process and process.tasks.get(tid)
        detail = task and task_detail(process, task, 0)
        return detail if detail and detail["state_ms"] else None

    detail = poll(store, judged, "two /proc samples of this thread")
    assert detail["native_id"] == tid


def test_a_process_that_died_is_shown_gone_without_its_agent_saying_so(collector):
    """A killed worker sends nothing more: /proc is how the page learns it is gone."""
    running, store, _ = collector
    child = subprocess.Popen(["true"])
    child.wait()  # its pid, reported by "its agent", now names no process
    agent = Agent(running, Source(this_host(), child.pid, "gunicorn-sync", "worker"))
    try:
        agent.send([begin_event(1, 0, 0, "GET", "/io", "")], [Task(1, "MainThread", "thread", 1)])
        poll(store, lambda m: [p for p in state_view(m, 0)["processes"] if p["status"] == "gone"], "gone")
    finally:
        agent.close()
    assert store.use(lambda m: m.counters(0)["failed"]) == 1  # its request in flight failed with it


def test_the_servers_accept_queue_is_read_from_its_port(collector):
    """Connections no worker has accepted yet wait in the kernel: the page shows them queued."""
    _, store, _ = collector
    with socket.create_server(("127.0.0.1", 0), backlog=8) as server:
        port = server.getsockname()[1]
        server = {"mode": "x", "status": "serving", "url": f"http://127.0.0.1:{port}"}
        store.apply(ServerChanged(0, server, 1))
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            poll(
                store,
                lambda m: servers_view(m, 0)[0]["queues"]["accept_backlog"] == 2,
                "two queued connections",
            )
        finally:
            for client in clients:
                client.close()


def test_an_ipv6_collector_hands_out_an_address_its_agents_can_send_to():
    """`udp://[::1]:PORT`: the brackets the agent's parser expects, and datagrams arrive."""
    collector, store = started(host="::1")
    agent = Agent(collector)
    try:
        assert collector.url.startswith("udp://[::1]:")
        agent.send(tasks=[Task(7, "T0", "thread", 7)])
        poll(store, lambda m: m.processes, "the datagram over IPv6")
    finally:
        agent.close()
        collector.stop()


def proc_net_udp_drops(port: int) -> int | None:
    """The drops column of /proc/net/udp (or udp6) for the socket bound to `port`."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                if int(parts[1].rsplit(":", 1)[1], 16) == port:
                    return int(parts[-1])
    return None


def socket_owner(root: int, port: int) -> psutil.Process:
    """The process (of `root`'s tree) holding the UDP socket bound to `port`."""
    for process in psutil.Process(root).children(recursive=True):
        if any(conn.laddr and conn.laddr.port == port for conn in process.net_connections(kind="udp")):
            return process
    raise AssertionError(f"no process of {root} holds UDP port {port}")


@pytest.mark.integration
def test_datagrams_the_kernel_drops_on_the_collectors_socket_are_shown_as_proc_net_udp_counts(dashboard):
    """Issue 10: at full speed the kernel dropped datagrams on the collector's socket that no
    counter on the page showed; /proc/net/udp had them."""
    address = parse_collector(dashboard.get("/api/health").json()["collector"])
    port = address[1]
    before = proc_net_udp_drops(port)
    owner = socket_owner(dashboard.proc.pid, port)
    owner.suspend()  # the collector is held: its receive buffer fills and the kernel drops the rest
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(FLOOD):
                sock.sendto(b"x" * 100, address)
    finally:
        owner.resume()
    assert proc_net_udp_drops(port) > before

    def agreed() -> int | None:
        shown = dashboard.get("/api/state").json()["collector"]["kernel_dropped"]
        return shown if shown == proc_net_udp_drops(port) else None

    shown = wait_for(agreed, 10, what="/api/state to show the drops /proc/net/udp shows")
    assert shown > before


def dead_pid() -> int:
    """A pid that names no process of this host (its process has exited)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_only_this_hosts_processes_are_read_from_proc():
    """Issue 21: another host's pid names another process here, or none. The dashboard reads
    /proc for its own host's processes alone; another host's sampler reports those."""
    model, pid = Model(), dead_pid()
    for host in (this_host(), "elsewhere"):
        model.apply(
            decode(encode(Source(host, pid, "m", "worker"), 0, 0, 0, [], [Task(3, "T", "thread", 3)])), 0
        )
    assert _what_to_sample(model)[0] == {pid: [3]}


@pytest.mark.integration
def test_two_hosts_processes_of_one_pid_are_shown_apart_in_state_frames_metrics_and_page(dashboard, browser):
    """Issue 21: processes were known by pid alone, so two containers' pid 1 merged into one.
    Known by (host, pid), each is a process and a server of its own, named PID@HOST, in
    /api/state, the frames' task keys and /metrics' `host` label, and the page heads each host's
    servers once there are two hosts (with one, it has no host heading); neither is marked gone
    by this host's /proc, where their pid names no process."""
    address = parse_collector(dashboard.get("/api/health").json()["collector"])
    pid, hosts = dead_pid(), ("host-a", "host-b")
    keys = {host: f"{pid}@{host}" for host in hosts}
    viewer = Viewer(dashboard.url)
    with page_at(browser, f"{dashboard.url}/", viewport={"width": 1280, "height": 800}) as page:
        try:
            viewer.next_snapshot()
            expect(page.locator(".process")).not_to_have_count(0)
            expect(page.locator(".host-head")).to_have_count(0)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for task, host in enumerate(hosts, 1):
                    begin = begin_event(task, 0, 0, "GET", f"/on-{host}", "")
                    roster = [Task(task, "T", "thread", task)]
                    sock.sendto(encode(Source(host, pid, "m", "worker"), 0, 0, 0, [begin], roster), address)

            def both() -> dict | None:
                state = dashboard.get("/api/state").json()
                return state if len([p for p in state["processes"] if p["pid"] == pid]) == 2 else None

            state = wait_for(both, what="both hosts' processes")
            processes = {p["host"]: p for p in state["processes"] if p["pid"] == pid}
            assert {host: p["key"] for host, p in processes.items()} == keys
            assert all(p["status"] == "alive" and len(p["tasks"]) == 1 for p in processes.values())
            assert processes["host-a"]["tasks"][0]["request"]["id"] == f"{keys['host-a']}-0"
            servers = {s["id"]: s for s in state["servers"]}
            for host in hosts:
                assert servers[f"{host}:{pid}"]["host"] == host
                assert servers[f"{host}:{pid}"]["counters"]["in_service"] == 1
            (local,) = [s for s in state["servers"] if s["managed"]]
            assert local["host"] == this_host()
            wanted = {f"{keys['host-a']}:1", f"{keys['host-b']}:2"}
            wait_for(lambda: wanted <= set(viewer.view["tasks"]), what=f"frames naming tasks {wanted}")
            assert {p["key"] for p in viewer.view["processes"]} >= set(keys.values())
            busy = parse(dashboard.get("/metrics").text)["threadpulse_tasks_busy"]
            for host in hosts:
                labels = {"server": f"{host}:{pid}", "host": host, "worker": str(pid)}
                assert value(busy, "threadpulse_tasks_busy", **labels) == 1
            heads = [f"host {host}" for host in (this_host(), *hosts)]
            expect(page.locator(".host-head")).to_have_text(heads)  # this host's first, then by name
        finally:
            viewer.close()
