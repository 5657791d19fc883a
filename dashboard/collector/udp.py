"""The collector: receives datagrams and samples /proc, on a thread each, folding both into the model."""

from __future__ import annotations

import logging
import select
import socket
import struct
import threading
import time
from collections.abc import Callable

from dashboard.addresses import ANY_TO_LOOPBACK, family, host_port, is_loopback
from dashboard.collector.guard import ReplayGuard
from dashboard.collector.listen_queue import accept_backlog
from dashboard.collector.procfs import sample_process
from dashboard.model.events import Datagrams, Sample
from dashboard.model.live import Model
from dashboard.model.store import Store
from threadpulse_agent.protocol import Datagram, ProtocolError, decode
from threadpulse_agent.signing import body_of, unseal

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.1
RECEIVE_BUFFER = 8 << 20
MAX_BATCH = 512
# getsockopt(SO_MEMINFO) (Linux 4.6; its drops field 4.12) reads the socket's drop counter, the
# one /proc/net/udp shows, in O(1) and current at each read. Python names neither constant.
SO_MEMINFO = 55
SK_MEMINFO_DROPS = 8


def kernel_drops(sock: socket.socket) -> int | None:
    """Datagrams the kernel dropped on `sock` (its receive buffer was full); None if unknown.

    Chosen over SO_RXQ_OVFL, which stamps the count on the next datagram queued (drops after the
    last one stay unseen) and costs a recvmsg with ancillary data per datagram, and over scanning
    /proc/net/udp for the socket's inode, which reads every UDP socket of the host each time.
    """
    size = 4 * (SK_MEMINFO_DROPS + 1)
    try:
        meminfo = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, size)
    except OSError:
        return None
    return struct.unpack_from("I", meminfo, 4 * SK_MEMINFO_DROPS)[0] if len(meminfo) >= size else None


COLLECTOR_HOST = "127.0.0.1"  # by default only this host's agents can reach it (--collector-host)


class KeyRequired(ValueError):
    """A collector beyond loopback without a key: anyone who reaches the port could feed the page."""


def refuse_open_collector(host: str, key: bytes | None) -> None:
    """KeyRequired for a collector listening beyond this machine with no key to check senders by."""
    if key is None and not is_loopback(host):
        raise KeyRequired(
            f"--collector-host {host} listens beyond this machine, and without a key anyone who can"
            " reach its port could feed the dashboard; give a key with --key-file FILE (or THREADPULSE_KEY),"
            " the same one your agents get in THREADPULSE_KEY, or keep the collector on 127.0.0.1"
        )


class Collector:
    """Two threads: datagrams as they come, /proc every 100 ms, each batch one event for the store.

    Apart because a /proc round is pure Python that runs 16-100 ms on a busy machine: on one thread
    a datagram that came during a round waited for its end (a click's first lit tile with it,
    docs/live-frames.md). With a key, only signed datagrams are taken, each once and while fresh
    (guard.py); without one (on loopback only), a datagram's envelope, if any, is removed unchecked.
    """

    def __init__(
        self, store: Store, host: str = COLLECTOR_HOST, port: int = 0, key: bytes | None = None
    ) -> None:
        refuse_open_collector(host, key)
        self.store = store
        self.key = key
        self.guard = ReplayGuard()
        self.sock = socket.socket(family(host), socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._receiving, name="threadpulse-collector", daemon=True),
            threading.Thread(target=self._sampling, name="threadpulse-proc-sampler", daemon=True),
        ]

    @property
    def url(self) -> str:
        """Where this host's agents send: an any-address bind is reached on loopback."""
        host, port = self.sock.getsockname()[:2]
        return f"udp://{host_port(ANY_TO_LOOPBACK.get(host, host), port)}"

    @property
    def receiver_id(self) -> int | None:
        """The native id of the thread that takes the datagrams in (for a benchmark of its CPU)."""
        return self._threads[0].native_id

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self.sock.close()

    def _receiving(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self.sock], [], [], 0.5)  # then look at _stop again
            if readable:
                _outliving(self._receive)

    def _sampling(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            _outliving(self._sample)

    def _receive(self) -> None:
        good: list[Datagram] = []
        raw: list[str] = []
        bad: list[str] = []
        for _ in range(MAX_BATCH):
            try:
                data = self.sock.recv(65_535)
            except BlockingIOError:
                break
            except OSError as exc:
                log.warning("collector socket error: %s", exc)
                break
            try:
                body = self._admit(data)
                good.append(decode(body))
                raw.append(body.decode("utf-8", "surrogateescape"))
            except ProtocolError as exc:
                bad.append(exc.reason)
        if good or bad:
            self.store.apply(Datagrams(time.monotonic_ns(), tuple(good), tuple(raw), tuple(bad)))

    def _admit(self, data: bytes) -> bytes:
        """The datagram's JSON bytes, once its envelope passes; ProtocolError naming why not."""
        if self.key is None:
            return body_of(data)
        opened = unseal(self.key, data)
        refusal = self.guard.refusal(opened, time.time_ns())
        if refusal is not None:
            raise ProtocolError(refusal)
        return opened.body

    def _sample(self) -> None:
        wanted, port = self.store.use(_what_to_sample)
        samples = {pid: sample_process(pid, tids) for pid, tids in wanted.items()}
        backlog = accept_backlog(port) if port else None
        drops = kernel_drops(self.sock)
        self.store.apply(Sample(time.monotonic_ns(), samples, backlog, drops))


def _outliving(batch: Callable[[], None]) -> None:
    """Run one batch; the collector must outlive a datagram or a /proc file it did not foresee."""
    try:
        batch()
    except Exception:
        log.exception("collector: a batch failed")


def _what_to_sample(model: Model) -> tuple[dict[int, list[int]], int | None]:
    """The live processes of this host with their threads' native ids, and the server's port.
    Another host's pids name other processes here, or none: its own sampler reads its /proc."""
    wanted = {
        p.pid: [t.native_id for t in p.tasks.values() if t.kind == "thread" and t.gone_ns is None]
        for p in model.processes.values()
        if p.gone_ns is None and model.sources.is_local(p)
    }
    url = model.server.get("url") or ""
    port = url.rsplit(":", 1)[1] if url.count(":") == 2 else ""
    return wanted, int(port) if port.isdigit() else None
