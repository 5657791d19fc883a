"""Admission of datagrams: which source each comes from, whether it is new, replayed or lost on
the way, and which server it belongs to. Bounded, so junk datagrams cannot grow the model."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from dashboard.model.expiry import evict_gone
from dashboard.model.tallies import Tallies
from dashboard.model.tasks import Process
from threadpulse_agent.protocol import Datagram, Server

MAX_PROCESSES = 256  # sources beyond this are refused, so junk datagrams cannot grow the model
MAX_IGNORED_PIDS = 1_024  # retired servers remembered; their stragglers arrive within seconds
MAX_LOADGENS = 50  # load generators whose last sequence number is kept (at most one per run kept)


class Sources:
    """The workload processes seen, the servers they report, and the load generators' sequences."""

    def __init__(self, tallies: Tallies, reject: Callable[[str], None]) -> None:
        self.processes: dict[int, Process] = {}
        self.shapes: dict[str, Server] = {}  # per server id, its shape as its agent reported it
        # Processes of retired servers, whose last datagrams may still come (oldest first).
        self.ignored_pids: OrderedDict[int, None] = OrderedDict()
        self.loadgen_seqs: OrderedDict[int, int] = OrderedDict()  # last seq per load generator pid
        self._tallies = tallies
        self._reject = reject

    def admit_loadgen(self, datagram: Datagram) -> bool:
        """Whether a load generator's datagram is new (not one already folded, sent again)."""
        pid = datagram.source.pid
        last = self.loadgen_seqs.pop(pid, -1)
        self.loadgen_seqs[pid] = max(last, datagram.seq)
        if len(self.loadgen_seqs) > MAX_LOADGENS:
            self.loadgen_seqs.popitem(last=False)
        if datagram.seq <= last:
            self._reject("replayed")
            return False
        return True

    def admit(self, datagram: Datagram) -> Process | None:
        """The process a worker's datagram comes from, its losses and its server's shape taken in;
        None: the datagram is to be dropped (a retired or gone process, a replay, no room)."""
        pid = datagram.source.pid
        if pid in self.ignored_pids:
            return None
        process = self.processes.get(pid)
        if process is None:
            if len(self.processes) >= MAX_PROCESSES and not evict_gone(self.processes):
                self._reject("too_many_sources")
                return None
            process = self.processes[pid] = Process(pid, datagram.source.host, datagram.source.mode)
            process.server = f"{process.host}:{pid}"
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
        """The processes of a retired server leave, and their stragglers are ignored from now;
        returns the ids of the servers they belonged to."""
        pids = list(pids)
        servers = {self.processes[pid].server for pid in pids if pid in self.processes}
        for pid in pids:
            self.ignored_pids[pid] = None
            self.processes.pop(pid, None)
        for server_id in servers:
            self.shapes.pop(server_id, None)
        while len(self.ignored_pids) > MAX_IGNORED_PIDS:
            self.ignored_pids.popitem(last=False)
        return servers
