"""The accept queue of a listening TCP socket, asked of the kernel by sock_diag netlink (as `ss`
does), not read from /proc/net/tcp.

/proc/net/tcp lists every TCP socket of the host, a room's viewers and every TIME_WAIT included,
and the kernel writes it out as text on each read: 5.6 ms of kernel time here with 741 sockets,
ten times a second, and a quarter of the dashboard's CPU while 1,000 viewers joined (py-spy). A
sock_diag dump asked for listening sockets only walks the kernel's listening table.
"""

from __future__ import annotations

import socket
import struct

NETLINK_SOCK_DIAG = 4  # linux/netlink.h; Python names neither this nor the constants below
SOCK_DIAG_BY_FAMILY = 20  # linux/sock_diag.h
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10  # the state's number in include/net/tcp_states.h
HEADER = struct.Struct("=IHHII")  # struct nlmsghdr: length, type, flags, sequence, port id
# struct inet_diag_req_v2: family, protocol, extensions, pad, states; then a zeroed inet_diag_sockid.
REQUEST = struct.Struct("=BBBBI48x")
# struct inet_diag_msg: family, state, timer, retransmits, the sockid (its source port first, big
# endian), expires, rqueue (a listener's accept queue), wqueue (its backlog limit), uid, inode.
MESSAGE = struct.Struct("=BBBB2s46xIII8x")


def accept_backlog(port: int) -> int | None:
    """Connections waiting in the kernel's accept queue of the sockets listening on `port` (IPv4
    and IPv6 summed); None when nothing listens there or the kernel cannot be asked."""
    found = None
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
            for family in (socket.AF_INET, socket.AF_INET6):
                for listener_port, queued in _listeners(sock, family):
                    if listener_port == port:
                        found = (found or 0) + queued
    except OSError:
        return None
    return found


def _listeners(sock: socket.socket, family: int) -> list[tuple[int, int]]:
    """(port, accept queue) of every listening TCP socket of `family` in this network namespace."""
    request = REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN)
    sock.send(
        HEADER.pack(HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        + request
    )
    out = []
    while True:
        data = sock.recv(65536)
        offset = 0
        while offset + HEADER.size <= len(data):
            length, kind = HEADER.unpack_from(data, offset)[:2]
            if kind == NLMSG_DONE:
                return out
            if kind == NLMSG_ERROR:
                raise OSError("sock_diag refused the dump")
            if length < HEADER.size:
                raise OSError("sock_diag: a malformed message")
            body = offset + HEADER.size
            if body + MESSAGE.size <= offset + length:
                _, state, _, _, sport, _, queued, _ = MESSAGE.unpack_from(data, body)
                if state == TCP_LISTEN:
                    out.append((int.from_bytes(sport, "big"), queued))
            offset += (length + 3) & ~3  # messages are 4-byte aligned
