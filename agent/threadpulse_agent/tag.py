"""The tag by which a load generator's request names its run and send time, read back by the agent
from any client's request: untrusted input."""

from __future__ import annotations

from threadpulse_agent.schema import MAX_INT, MAX_TEXT

# The header a request carries its tag in (`make_tag`), and the names a WSGI server and an ASGI
# server hand it to the agent under.
TAG_HEADER = "X-Threadpulse-Tag"
TAG_ENVIRON = "HTTP_" + TAG_HEADER.upper().replace("-", "_")
TAG_ASGI = TAG_HEADER.lower().encode("latin-1")


def make_tag(run: str, index: int, sent_ns: int) -> str:
    """The TAG_HEADER value by which a request names its run and send time."""
    return f"{run}/{index}/{sent_ns}"


def parse_tag(tag: str | None) -> tuple[str, int, int] | None:
    """(run, index, sent_ns) from a tag, or None when absent or malformed (any client's input).

    Numbers are ASCII digits up to MAX_INT: `'²'.isdigit()` is True but `int('²')` raises, and a
    WSGI server hands header bytes over as latin-1, so any byte 0x80-0xFF can arrive.
    """
    if not tag:
        return None
    parts = tag.split("/")
    if len(parts) != 3 or not all(_is_count(part) for part in parts[1:]):
        return None
    return parts[0][:MAX_TEXT], int(parts[1]), int(parts[2])


def _is_count(text: str) -> bool:
    return text.isascii() and text.isdecimal() and int(text) <= MAX_INT
