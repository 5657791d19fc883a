"""Signed datagrams: the envelope a source puts around a datagram when it holds the dashboard's key.

A collector that listens beyond this machine must know who may feed it: each datagram then carries
an HMAC-SHA256, under a key shared with the dashboard, of everything after the MAC: the sender's
random id, its counter (one more per datagram) and its wall-clock send time, then the datagram's
JSON bytes unchanged. The collector drops a datagram whose MAC does not match, whose counter is not
above the last one it took from that sender, or whose send time is too far from its own clock (a
replay from before it started). The sender id is drawn afresh by each reporter, so a process that
restarts under the same pid (a container's pid 1) is a new sender, not a replay of the old one; the
wall clock (not the monotonic one, which differs from host to host) bounds how long a collector must
remember a sender. Layout: docs/protocol.md, "Signed datagrams".

Standard library only; the key is THREADPULSE_KEY in the environment (its text, UTF-8, surrounding
whitespace stripped), as the dashboard hands it to the servers, commands and load generators it starts.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import struct
import time
from collections.abc import Mapping
from typing import NamedTuple

from threadpulse_agent.decoding import ProtocolError

ENV_KEY = "THREADPULSE_KEY"
MAGIC = b"TPS1"  # never the first bytes of an unsigned datagram, which starts with "{"
MAC_BYTES = 32
# After the MAC, signed with the body: sender id, counter, send time (ns since the epoch), big-endian.
_SIGNED_HEADER = struct.Struct(">QQQ")
ENVELOPE_BYTES = len(MAGIC) + MAC_BYTES + _SIGNED_HEADER.size


class Opened(NamedTuple):
    """A signed datagram whose MAC matched: who sent it, its counter and send time, and the body."""

    sender: int
    counter: int
    wall_ns: int
    body: bytes


def key_bytes(text: str) -> bytes:
    """The key a text stands for: its UTF-8 bytes, surrounding whitespace (a file's newline) stripped."""
    return text.strip().encode()


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The key THREADPULSE_KEY holds, or None when it is unset or blank (then nothing is signed)."""
    text = (os.environ if environ is None else environ).get(ENV_KEY, "")
    return key_bytes(text) or None


class Sealer:
    """Signs one sender's datagrams: a random sender id and a counter of its own, from 1."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.sender = int.from_bytes(os.urandom(8), "big")
        self._counter = itertools.count(1)

    def seal(self, body: bytes, wall_ns: int | None = None) -> bytes:
        """The datagram `body` in its envelope, sent now (or at `wall_ns`)."""
        sent = time.time_ns() if wall_ns is None else wall_ns
        signed = _SIGNED_HEADER.pack(self.sender, next(self._counter), sent) + body
        return MAGIC + hmac.new(self._key, signed, hashlib.sha256).digest() + signed


def is_signed(data: bytes) -> bool:
    """Whether `data` is in an envelope (signed or meant to be), not a bare datagram."""
    return data.startswith(MAGIC)


def body_of(data: bytes) -> bytes:
    """A datagram's JSON bytes, its envelope (if any) removed unchecked: for a collector without a
    key, which trusts what reaches it on loopback."""
    return data[ENVELOPE_BYTES:] if is_signed(data) and len(data) >= ENVELOPE_BYTES else data


def unseal(key: bytes, data: bytes) -> Opened:
    """The envelope checked against `key`; ProtocolError `unsigned` (no envelope) or `bad_signature`
    (cut short, or a MAC that does not match: another key, or bytes changed on the way)."""
    if not is_signed(data):
        raise ProtocolError("unsigned", "the collector has a key: give the source THREADPULSE_KEY")
    if len(data) < ENVELOPE_BYTES:
        raise ProtocolError("bad_signature", "envelope cut short")
    mac, signed = data[len(MAGIC) : len(MAGIC) + MAC_BYTES], data[len(MAGIC) + MAC_BYTES :]
    if not hmac.compare_digest(mac, hmac.new(key, signed, hashlib.sha256).digest()):
        raise ProtocolError("bad_signature", "the MAC does not match this collector's key")
    sender, counter, wall_ns = _SIGNED_HEADER.unpack_from(signed)
    return Opened(sender, counter, wall_ns, signed[_SIGNED_HEADER.size :])
