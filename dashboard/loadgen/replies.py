"""Replies read off a keep-alive connection, incrementally: where one ends and the next begins.

Sustained load sends a request's successor as soon as its reply is whole, and a burst's request
ends then, so the generator's client (connection.py) must find the end of every reply a real server
may send: Content-Length, chunked (a streamed Flask response), no body (HEAD, 204, 304), or a body
that runs until the server closes. Bodies are skipped, never kept; a head or a chunk's size line
beyond MAX_HEAD is refused. No HTTP library: the generator's cost per request must stay far below
the server's.
"""

from __future__ import annotations

MAX_HEAD = 65_536
HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, TRAILER, UNTIL_CLOSE = range(6)


class Replies:
    """Fed the bytes of one connection; `feed` returns (status, server closes) of each whole reply.
    A malformed reply raises ValueError: the connection is then closed, the request failed."""

    def __init__(self, head_only: bool = False) -> None:
        self.head_only = head_only  # replies to HEAD have no body, whatever their headers say
        self._buffer = b""
        self._state = HEAD
        self._need = 0
        self._status = 0
        self._close = False

    def pending(self) -> bool:
        """Whether part of a reply has come."""
        return bool(self._buffer) or self._state != HEAD

    def eof(self) -> int | None:
        """The connection closed: the status of a reply whose body ran until then, else None (the
        reply, if one was due, was cut off)."""
        return self._status if self._state == UNTIL_CLOSE else None

    def feed(self, data: bytes) -> list[tuple[int, bool]]:
        self._buffer += data
        whole: list[tuple[int, bool]] = []
        while self._step(whole):
            pass
        return whole

    def _step(self, whole: list[tuple[int, bool]]) -> bool:
        """Take one piece off the buffer; False when more bytes are needed."""
        buffer, state = self._buffer, self._state
        if state == HEAD:
            end = buffer.find(b"\r\n\r\n")
            if end < 0 and len(buffer) <= MAX_HEAD:
                return False
            if end < 0 or end > MAX_HEAD:  # also one that came whole, in one read
                raise ValueError("a reply's head is too long")
            status, length, chunked, close = _head(buffer[:end])
            self._buffer, self._status, self._close = buffer[end + 4 :], status, close
            if 100 <= status < 200:
                return True  # an interim reply: the real one follows
            if self.head_only or status in (204, 304):
                return self._done(whole)
            if chunked:
                self._state = CHUNK_SIZE
            elif length is not None:
                self._state, self._need = BODY, length
            else:
                self._state, self._close = UNTIL_CLOSE, True
            return True
        if state in (BODY, CHUNK_DATA):
            if len(buffer) < self._need:
                self._need -= len(buffer)
                self._buffer = b""
                return False
            self._buffer = buffer[self._need :]
            if state == CHUNK_DATA:
                self._state = CHUNK_SIZE
                return True
            return self._done(whole)
        if state in (CHUNK_SIZE, TRAILER):
            end = buffer.find(b"\r\n")
            if end < 0 and len(buffer) <= MAX_HEAD:
                return False
            if end < 0 or end > MAX_HEAD:
                raise ValueError("a chunk's size line is too long")
            line, self._buffer = buffer[:end], buffer[end + 2 :]
            if state == TRAILER:
                return self._done(whole) if not line else True
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size < 0:
                raise ValueError("a negative chunk size")
            self._state, self._need = (TRAILER, 0) if size == 0 else (CHUNK_DATA, size + 2)
            return True
        self._buffer = b""  # UNTIL_CLOSE: the body ends when the connection does
        return False

    def _done(self, whole: list[tuple[int, bool]]) -> bool:
        whole.append((self._status, self._close))
        self._state, self._need = HEAD, 0
        return True


def _head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, content length or None, chunked, whether the server will close) of a reply's head."""
    lines = head.split(b"\r\n")
    status_line = lines[0].split(None, 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
        raise ValueError("not an HTTP reply")
    length, chunked, close = None, False, lines[0].startswith(b"HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
            if length < 0:
                raise ValueError("a negative Content-Length")
        elif name == b"connection":
            close = value == b"close"
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
    return int(status_line[1]), length, chunked, close
