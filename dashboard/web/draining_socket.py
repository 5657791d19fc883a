"""A viewer's connection whose writes give up when the viewer stops reading.

simple-websocket writes as long as the socket takes: a viewer that never reads held its writer,
its queue of frames and up to 4 MB of kernel send buffer for as long as it liked; Engine.IO's ping
timeout ends the session, but not the write stuck under it (issue 17, fault 7). Here a write that
moves no byte for `drain_s` resets the connection (SO_LINGER 0, so the kernel frees the unread
queue at once) and is counted; the send buffer is capped, so what one viewer holds is small.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Callable

import gevent

# A live page reads every frame as it comes; the kernel buffer (doubled by Linux) absorbs seconds
# of a phone's stall.
SEND_BUFFER = 64 << 10


class DrainingSocket:
    """The connection as simple-websocket uses it (send, recv, close), whose send gives up, and
    resets the connection, when the viewer's socket takes no byte for `drain_s`."""

    def __init__(self, sock: socket.socket, drain_s: float, not_draining: Callable[[], None]) -> None:
        self.sock = sock
        self.drain_s = drain_s
        self.not_draining = not_draining
        self.aborted = False
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)

    def send(self, data: bytes) -> int:
        """Send all of `data`; BrokenPipeError once the viewer stopped draining (simple-websocket
        takes that as a closed connection; its own `sock.send` could also send only a part)."""
        view = memoryview(data)
        while view:
            if self.aborted:
                raise BrokenPipeError(errno.EPIPE, "the viewer stopped reading; dropped")
            sent = self._send_some(view)
            if sent is None:
                self._abort()
                self.not_draining()
            else:
                view = view[sent:]
        return len(data)

    def _send_some(self, view: memoryview) -> int | None:
        """Bytes sent, or None when the viewer took none for `drain_s`."""
        raise NotImplementedError

    def recv(self, size: int) -> bytes:
        return self.sock.recv(size)

    def close(self) -> None:
        self.sock.close()

    def end(self) -> None:
        """Close the connection after what was sent (FIN); the reader sees it end at once."""
        if not self.aborted:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # the reader already closed it
                pass

    def _abort(self) -> None:
        """A reset, not a FIN: the unread queue is dropped by the kernel instead of kept for retries.
        The shutdown wakes the reader blocked in `recv` on another OS thread (a close alone does not,
        on Linux, and the socket then lives on under it)."""
        self.aborted = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class GreenDrainingSocket(DrainingSocket):
    """On the hub: a write the kernel takes at once costs one call; one that would wait, waits
    in a gevent timeout (the socket is non-blocking underneath). A timeout armed for every write
    was a tenth of a viewer-only process's CPU under a room of 500 (py-spy)."""

    def _send_some(self, view: memoryview) -> int | None:
        try:
            return self.sock.send(view, 0, 0.0)  # gevent's socket: timeout 0, never wait
        except BlockingIOError:  # the send buffer is full: wait for room, at most drain_s
            pass
        with gevent.Timeout(self.drain_s, False):
            return self.sock.send(view)
        return None


class ThreadDrainingSocket(DrainingSocket):
    """On an OS thread: the kernel's own send timeout (SO_SNDTIMEO) ends a write that waits; only
    writes are timed, so a viewer that sends nothing for a while is not dropped for it."""

    def __init__(self, sock: socket.socket, drain_s: float, not_draining: Callable[[], None]) -> None:
        super().__init__(sock, drain_s, not_draining)
        seconds = int(drain_s)
        timeval = struct.pack("ll", seconds, int((drain_s - seconds) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)

    def _send_some(self, view: memoryview) -> int | None:
        try:
            return self.sock.send(view)
        except BlockingIOError:  # the kernel's send timeout passed with no byte taken
            return None
