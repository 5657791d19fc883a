"""Admission of datagrams: which source each comes from, whether it is new, replayed or lost on
the way, and which server it belongs to. Bounded, so junk datagrams cannot grow the model.

A source is known by (host, pid): two hosts' pid 1 are two processes. Which host is the
dashboard's own (`is_local`) is decided here alone: only its pids are the dashboard's to read in
/proc, to retire with a server it stopped, or to match with a command it launched."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from dashboard.model.expiry import evict_gone
from dashboard.model.tallies import Tallies
from dashboard.model.tasks import Process, ProcessKey, process_name
from threadpulse_agent.protocol import Datagram, Server

MAX_PROCESSES = 256  # sources beyond this are refused, so junk datagrams cannot grow the model
MAX_IGNORED_PIDS = 1_024  # retired servers remembered; their stragglers arrive within seconds
MAX_LOADGENS = 50  # load generators whose last sequence number is kept (at most one per run kept)


class Sources:
    """The workload processes seen, the servers they report, and the load generators' sequences."""

    def __init__(self, tallies: Tallies, reject: Callable[[str], None], host: str) -> None:
        self.host = host  # the dashboard's own, as its agents name it (`src.host`)
        self.processes: dict[ProcessKey, Process] = {}
        self.shapes: dict[str, Server] = {}  # per server id, its shape as its agent reported it
        # Processes of retired servers, whose last datagrams may still come (oldest first).
        self.ignored: OrderedDict[ProcessKey, None] = OrderedDict()
        self.loadgen_seqs: OrderedDict[ProcessKey, int] = OrderedDict()  # last seq per load generator
        self._tallies = tallies
        self._reject = reject

    def is_local(self, process: Process) -> bool:
        """Whether the process runs on the dashboard's own host (its /proc is ours to read)."""
        return process.host == self.host

    def local(self, pid: int) -> Process | None:
        """The process of this host with that pid, if the model knows it."""
        return self.processes.get((self.host, pid))

    def named(self, name: str) -> Process | None:
        """The process the page names `name` (its pid, or PID@HOST), if the model knows it."""
        return next((p for p in self.processes.values() if p.name == name), None)

    def admit_loadgen(self, datagram: Datagram) -> bool:
        """Whether a load generator's datagram is new (not one already folded, sent again)."""
        key = (datagram.source.host, datagram.source.pid)
        last = self.loadgen_seqs.pop(key, -1)
        self.loadgen_seqs[key] = max(last, datagram.seq)
        if len(self.loadgen_seqs) > MAX_LOADGENS:
            self.loadgen_seqs.popitem(last=False)
        if datagram.seq <= last:
            self._reject("replayed")
            return False
        return True

    def admit(self, datagram: Datagram) -> Process | None:
        """The process a worker's datagram comes from, its losses and its server's shape taken in;
        None: the datagram is to be dropped (a retired or gone process, a replay, no room)."""
        host, pid = key = datagram.source.host, datagram.source.pid
        if key in self.ignored:
            return None
        process = self.processes.get(key)
        if process is None:
            if len(self.processes) >= MAX_PROCESSES and not evict_gone(self.processes):
                self._reject("too_many_sources")
                return None
            name = process_name(host, pid, host == self.host)
            process = self.processes[key] = Process(pid, host, datagram.source.mode, name)
            process.server = f"{host}:{pid}"
        elif process.gone_ns is not None:
            return None
        if datagram.seq <= process.last_seq:
            self._reject("replayed")
            return None
        if process.last_seq >= 0:
            process.lost += datagram.seq - process.last_seq - 1
        process.last_seq = datagram.seq
        process.dropped = datagram.dropped
        if datagram.source.python is not None:
            process.python = datagram.source.python
        shape = datagram.source.server
        if shape is not None and (shape.id in self.shapes or len(self.shapes) < MAX_PROCESSES):
            self.shapes[shape.id] = shape
            if process.server != shape.id:  # what it counted before its server was known moves along
                self._tallies.rename(process.server, shape.id)
                process.server = shape.id
        return process

    def retire(self, pids: Iterable[int]) -> set[str]:
        """The processes of a retired server (this host's: the dashboard stopped it) leave, and
        their stragglers are ignored from now; returns the ids of the servers they belonged to."""
        keys = [(self.host, pid) for pid in pids]
        servers = {self.processes[key].server for key in keys if key in self.processes}
        for key in keys:
            self.ignored[key] = None
            self.processes.pop(key, None)
        for server_id in servers:
            self.shapes.pop(server_id, None)
        while len(self.ignored) > MAX_IGNORED_PIDS:
            self.ignored.popitem(last=False)
        return servers
