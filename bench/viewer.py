"""A lean Socket.IO viewer for benchmarks: Engine.IO 4 straight over a WebSocket, on asyncio.

Hundreds of python-socketio clients would need thousands of threads in the measuring process,
and their GIL queue would show up as frame latency. This viewer does only what a page does with
the dashboard (connect, answer pings, receive `snapshot` and `frame`), many to one event loop,
and stamps each frame when its bytes arrive.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import struct
import time
import zlib

NOW_MS = re.compile(rb'"now_ms":\s*([\d.]+)')


class Viewer:
    """One viewer: `latencies_ms` holds arrival time minus the frame's `now_ms` (same host clock)."""

    def __init__(self, deflate: bool = False) -> None:
        """`deflate`: offer permessage-deflate, as browsers do, and inflate what comes compressed."""
        self.deflate = deflate
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        self.latencies_ms: list[float] = []
        self.snapshots = 0
        self.frames = 0
        self.recording = False
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, host: str, port: int) -> None:
        """Open the WebSocket and join the default namespace."""
        self._reader, self._writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if self.deflate else ""
        self._writer.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{offer}\r\n".encode()
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        self._send(b"40")

    async def run(self) -> None:
        """Read messages until the connection closes."""
        assert self._reader is not None
        try:
            while True:
                message = await self._message()
                arrived = time.monotonic_ns()
                if message is None:
                    return
                self._handle(message, arrived)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _handle(self, message: bytes, arrived_ns: int) -> None:
        if message == b"2":  # Engine.IO ping: answer or be dropped
            self._send(b"3")
        elif message.startswith(b'42["frame"'):
            self.frames += 1
            match = NOW_MS.search(message, 0, 200)
            if self.recording and match:
                self.latencies_ms.append(arrived_ns / 1e6 - float(match.group(1)))
        elif message.startswith(b'42["snapshot"'):
            self.snapshots += 1

    async def _message(self) -> bytes | None:
        """One whole text message (continuation frames joined); None on close."""
        assert self._reader is not None
        parts = []
        while True:
            first, second = await self._reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self._reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self._reader.readexactly(8))
            payload = await self._reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                return None
            if opcode in (0x9, 0xA):  # WebSocket ping/pong: the server does not send them here
                continue
            parts.append(payload)
            if first & 0x80:
                whole = b"".join(parts)
                if first & 0x40:  # RSV1: compressed (permessage-deflate)
                    whole = self._inflate.decompress(whole + b"\x00\x00\xff\xff")
                return whole

    def _send(self, payload: bytes) -> None:
        """A masked text frame (clients must mask; a zero key leaves the bytes as they are)."""
        assert self._writer is not None and len(payload) < 126
        if self._writer.is_closing():
            return
        self._writer.write(bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
