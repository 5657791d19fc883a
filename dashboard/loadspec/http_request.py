"""One request the load generator sends to a user's server: method, path with query, JSON body.

Validated here once, for the API (a 400 saying what is wrong) and for the generator's command line
alike, and written here as raw HTTP/1.1 bytes: the generator uses no HTTP library (connection.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dashboard.loadspec.errors import BadLoadRequest
from threadpulse_agent.protocol import TAG_HEADER

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")
MAX_PATH = 2_000
MAX_BODY = 65_536  # bytes of JSON text


def path_error(path: object) -> str | None:
    """Why `path` cannot be sent, or None: an absolute path with an optional query, in printable
    ASCII, never a URL (the target is chosen by the dashboard, never by the path)."""
    if type(path) is not str or not 0 < len(path) <= MAX_PATH:
        return f"path must be a string of 1 to {MAX_PATH} characters"
    if not path.startswith("/") or path.startswith("//"):
        return f"path must be an absolute path like /items?page=2 (no scheme or host), got {path[:60]!r}"
    if not all("!" <= c <= "~" for c in path) or "#" in path:
        return "path must be printable ASCII without spaces or '#' (percent-encode the rest)"
    return None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What every request of a run sends; `body` is JSON text, "" for none."""

    method: str
    path: str
    body: str = ""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise BadLoadRequest(f"method must be one of {', '.join(METHODS)}, got {str(self.method)[:20]!r}")
        error = path_error(self.path)
        if error:
            raise BadLoadRequest(error)
        if type(self.body) is not str or len(self.body) > MAX_BODY or not self.body.isascii():
            raise BadLoadRequest(f"body must be JSON of at most {MAX_BODY} bytes")
        if self.body and self.method not in WITH_BODY:
            raise BadLoadRequest(f"a body goes with {', '.join(WITH_BODY)}, not {self.method}")

    @property
    def label(self) -> str:
        """How the page names the run's requests."""
        return f"{self.method} {self.path}"

    def wire(self, authority: str, keep_alive: bool) -> tuple[bytes, bytes]:
        """(head, tail) for the server at `authority` (HOST[:PORT] as its URL writes it, an IPv6 host
        bracketed): a request is `head + tail`, or `head + tag_line(tag) + tail` when tagged."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {authority}"]
        if not keep_alive:
            lines.append("Connection: close")
        if self.body:
            lines.append("Content-Type: application/json")
        if self.method in WITH_BODY:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n").encode(), b"\r\n" + self.body.encode()


def tag_line(tag: str) -> bytes:
    """The header by which a request names its run, index and send time (protocol.make_tag)."""
    return f"{TAG_HEADER}: {tag}\r\n".encode()


def parse_request(body: dict) -> HttpRequest:
    """The request a load body names with `method`, `path` and `body` (any JSON value, optional)."""
    method = body.get("method", "GET")
    data = body.get("body")
    try:
        text = "" if data is None else json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise BadLoadRequest("body must be JSON: NaN and Infinity are not") from None
    if len(text) > MAX_BODY:
        raise BadLoadRequest(f"body must be JSON of at most {MAX_BODY} bytes, got {len(text)}")
    return HttpRequest(method if type(method) is str else str(method)[:20], body.get("path"), text)
