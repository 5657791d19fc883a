"""The collector thread: receives datagrams, samples /proc, and folds both into the model."""

from __future__ import annotations

import logging
import select
import socket
import struct
import threading
import time

from dashboard.addresses import family
from dashboard.collector.procfs import accept_backlog, sample_process
from dashboard.model.events import Datagrams, Sample
from dashboard.model.live import Model
from dashboard.model.store import Store
from threadpulse_agent.protocol import Datagram, ProtocolError, decode

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


COLLECTOR_HOST = "127.0.0.1"  # agents run on this host: where they send, and where it listens


class Collector:
    """One thread: datagrams as they come, /proc every 100 ms, each batch one event for the store."""

    def __init__(self, store: Store, host: str = COLLECTOR_HOST, port: int = 0) -> None:
        self.store = store
        self.sock = socket.socket(family(host), socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="threadpulse-collector", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"udp://[{host}]:{port}" if ":" in host else f"udp://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def _run(self) -> None:
        next_sample = time.monotonic()
        while not self._stop.is_set():
            timeout = max(0.0, next_sample - time.monotonic())
            readable, _, _ = select.select([self.sock], [], [], min(timeout, 0.5))
            try:
                if readable:
                    self._receive()
                if time.monotonic() >= next_sample:
                    self._sample()
                    next_sample = time.monotonic() + SAMPLE_INTERVAL_S
            except Exception:  # the collector must outlive a datagram it did not foresee
                log.exception("collector: a batch failed")
                next_sample = time.monotonic() + SAMPLE_INTERVAL_S

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
                good.append(decode(data))
                raw.append(data.decode("utf-8", "surrogateescape"))
            except ProtocolError as exc:
                bad.append(exc.reason)
        if good or bad:
            self.store.apply(Datagrams(time.monotonic_ns(), tuple(good), tuple(raw), tuple(bad)))

    def _sample(self) -> None:
        wanted, port = self.store.use(_what_to_sample)
        samples = {pid: sample_process(pid, tids) for pid, tids in wanted.items()}
        backlog = accept_backlog(port) if port else None
        drops = kernel_drops(self.sock)
        self.store.apply(Sample(time.monotonic_ns(), samples, backlog, drops))


def _what_to_sample(model: Model) -> tuple[dict[int, list[int]], int | None]:
    """The live processes with their threads' native ids, and the server's port."""
    wanted = {
        p.pid: [t.native_id for t in p.tasks.values() if t.kind == "thread" and t.gone_ns is None]
        for p in model.processes.values()
        if p.gone_ns is None
    }
    url = model.server.get("url") or ""
    port = url.rsplit(":", 1)[1] if url.count(":") == 2 else ""
    return wanted, int(port) if port.isdigit() else None
