"""Test hosts on this machine: each a network namespace joined to this host by a veth pair (a /30 of
its own), whose commands run in their own UTS, PID (with its own /proc) and, if asked, time namespace,
so a server there has its own host name, its own pids (1, 2, 3...) and a monotonic clock thousands of
seconds off. Traffic goes only between a host and this one. Needs root (`ip netns`, `unshare`).

Names are unique per run (a random token), and everything made is removed afterwards, also when a
test fails: the processes first (the first process of a PID namespace ignores signals it has no
handler for, so a host's command gets SIGTERM, then SIGKILL after a grace), then the namespace,
which takes its end of the veth pair, and the other end with it.
"""

from __future__ import annotations

import ipaddress
import random
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

GRACE_S = 5.0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _taken() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this host has an address or a route in now."""
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    taken = []
    for line in out.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast"):
            word = line.split()[1]
        try:
            taken.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    return taken


def free_subnet() -> ipaddress.IPv4Network:
    """A /30 in 10.0.0.0/8 that overlaps nothing this host routes (picked at random, so parallel runs
    do not pick the same one)."""
    taken = _taken()
    for _ in range(1000):
        subnet = ipaddress.ip_network(
            f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(64) * 4}/30"
        )
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise RuntimeError("no free /30 in 10.0.0.0/8")


@dataclass
class Host:
    """One test host: `name` (its host name), `address` (its side of the veth pair) and `gateway`
    (this host's side, where its datagrams go); `ahead_s` puts its monotonic clock that far ahead."""

    name: str
    netns: str
    address: str
    gateway: str
    ahead_s: int = 0
    procs: list[subprocess.Popen] = field(default_factory=list)

    def argv(self, *command: str, own_pids: bool = True) -> list[str]:
        """`command` run on this host: in its network namespace and, with `own_pids`, in UTS, PID and
        (when it is ahead) time namespaces of its own, named `name`."""
        inside = ["ip", "netns", "exec", self.netns]
        if not own_pids:
            return [*inside, *command]
        clock = ["--time", "--monotonic", str(self.ahead_s)] if self.ahead_s else []
        unshare = ["unshare", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc", *clock]
        return [*inside, *unshare, "sh", "-c", f'hostname {self.name} && exec "$@"', "sh", *command]

    def start(self, *command: str, log: Path, cwd: Path | None = None) -> subprocess.Popen:
        """`command` started on this host in namespaces of its own, its output to `log`; ended with
        the host."""
        with open(log, "wb") as out:
            proc = subprocess.Popen(self.argv(*command), stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        self.procs.append(proc)
        return proc

    def run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """`command` run to its end in this host's network (wrk, a client), its output captured."""
        return subprocess.run(
            self.argv(*command, own_pids=False), capture_output=True, text=True, timeout=timeout
        )

    def stop(self) -> None:
        """SIGTERM to each command's first process (its own pid 1), SIGKILL to what is left after a
        grace; `unshare --kill-child` takes the namespace's processes down with it."""
        for proc in self.procs:
            for child in _children(proc.pid):
                child.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(GRACE_S)


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children()
    except psutil.Error:
        return []


@contextmanager
def hosts(*ahead_s: int) -> Iterator[list[Host]]:
    """One host per item of `ahead_s` (its clock's lead in seconds, 0 for none), named h1, h2...;
    removed afterwards, whatever happened."""
    token = secrets.token_hex(3)
    with ExitStack() as stack:
        made = []
        for number, ahead in enumerate(ahead_s, 1):
            netns, outside, inside = f"tp{token}h{number}", f"tp{token}o{number}", f"tp{token}i{number}"
            _ip("netns", "add", netns)
            stack.callback(_ip, "netns", "delete", netns)  # its veth end goes, and the pair with it
            subnet = free_subnet()
            gateway, address = (str(a) for a in subnet.hosts())
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            stack.callback(subprocess.run, ["ip", "link", "delete", outside], capture_output=True)
            _ip("link", "set", inside, "netns", netns)
            _ip("addr", "add", f"{gateway}/30", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("-n", netns, "addr", "add", f"{address}/30", "dev", inside)
            _ip("-n", netns, "link", "set", inside, "up")
            _ip("-n", netns, "link", "set", "lo", "up")
            _ip("-n", netns, "route", "add", "default", "via", gateway)  # this host's other addresses
            host = Host(f"h{number}", netns, address, gateway, ahead)
            stack.callback(host.stop)
            made.append(host)
        yield made
