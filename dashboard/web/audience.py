"""The audience's address, as the stage prints it and its QR code holds it.

The dashboard cannot see how a phone in the room reaches it: behind a proxy or on a venue
network the speaker says so with --public-url. Without it the address is the one the dashboard
listens on; a wildcard bind (0.0.0.0, ::) names no address, so the machine's first non-loopback
one stands in (loopback would be useless on a phone).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import psutil
import segno

from dashboard.addresses import host_port
from dashboard.config import Config

AUDIENCE_PATH = "/watch"
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def parse_public_url(text: str) -> str:
    """`http(s)://host[:port][/path]` without a trailing slash; ValueError saying what is wrong."""
    shape = "it must look like http(s)://host[:port][/path]"
    if not text or any(ch.isspace() for ch in text) or not text.isascii():
        raise ValueError(f"{shape}, with no spaces and ASCII only")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{shape}: the scheme must be http or https")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ValueError(f"{shape}: a host is needed, and no user:password@")
    try:
        port = parts.port  # urlsplit checks the port only when it is read
    except ValueError:
        port = 0
    if port == 0 or (port is None and parts.netloc.endswith(":")):
        raise ValueError(f"{shape}: the port must be a number from 1 to 65535")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(f"{shape}: no ?query or #fragment")
    url = text.rstrip("/")
    try:  # refused here, or every /stage would fail drawing it
        qr_code(url + AUDIENCE_PATH)
    except segno.DataOverflowError:
        raise ValueError(
            f"{len(url + AUDIENCE_PATH)} characters with {AUDIENCE_PATH} are more than the stage's QR code"
            " can hold; give a shorter address (a short link that redirects to it will do)"
        ) from None
    return url


def first_non_loopback_address() -> str | None:
    """This machine's first non-loopback address by interface order, IPv4 before IPv6."""
    found: list[tuple[int, str]] = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            text = address.address.split("%")[0]  # fe80::1%eth0: the zone is local to this host
            ip = ipaddress.ip_address(text)
            if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
                found.append((ip.version, text))
    return min(found, key=lambda item: item[0])[1] if found else None


def base_url(config: Config) -> str:
    """Where the audience reaches the dashboard: --public-url, else the host it listens on."""
    if config.public_url:
        return config.public_url
    host = config.host
    if host in WILDCARD_HOSTS:
        host = first_non_loopback_address() or "127.0.0.1"
    return f"http://{host_port(host, config.port)}"


def audience_url(config: Config) -> str:
    return base_url(config) + AUDIENCE_PATH


def qr_code(url: str) -> segno.QRCode:
    """The QR code of `url` (DataOverflowError when none can hold it): medium error correction,
    never a Micro QR code, which many phone cameras do not read."""
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str) -> str:
    """An inline SVG QR code of `url`, made here (no network), dark on light as scanners want."""
    return qr_code(url).svg_inline(scale=1, border=2, dark="#000", light="#fff", omitsize=True)
