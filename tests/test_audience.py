"""The audience's address on the stage: --public-url checked at start, a wildcard bind replaced by
a reachable address, and the QR code made here."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from dashboard.cli.run import parse_args
from dashboard.config import Config
from dashboard.web import audience
from dashboard.web.audience import audience_url, parse_public_url, qr_svg


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://talk.example", "http://talk.example"),
        ("https://talk.example:8443/threadpulse/", "https://talk.example:8443/threadpulse"),
        ("http://192.0.2.7:8050", "http://192.0.2.7:8050"),
        ("http://[2001:db8::7]:8050/tp", "http://[2001:db8::7]:8050/tp"),
    ],
)
def test_a_public_url_is_kept_without_its_trailing_slash(given, kept):
    """The audience URL is the public URL plus /watch: no double slash."""
    assert parse_public_url(given) == kept
    assert audience_url(Config(public_url=parse_public_url(given))) == kept + "/watch"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("talk.example", "scheme must be http or https"),
        ("ftp://talk.example", "scheme must be http or https"),
        ("https://", "a host is needed"),
        ("https://user:pw@talk.example", "no user:password@"),
        ("https://talk.example:99999", "port must be a number from 1 to 65535"),
        ("https://talk.example:0", "port must be a number from 1 to 65535"),
        ("https://talk.example:", "port must be a number from 1 to 65535"),
        ("https://talk.example/?room=1", "no ?query or #fragment"),
        ("https://talk.example/#top", "no ?query or #fragment"),
        ("https://talk example", "no spaces"),
        ("https://tälk.example", "ASCII only"),
    ],
)
def test_a_bad_public_url_is_refused_at_start_saying_why(given, says, capsys):
    """run.py exits with the flag, the value and what is wrong, before anything starts."""
    with pytest.raises(SystemExit):
        parse_args(["--public-url", given])
    err = capsys.readouterr().err
    assert "--public-url" in err and says in err


def test_without_a_public_url_the_audience_url_is_the_dashboards_own_address():
    assert audience_url(Config(host="127.0.0.1", port=8050)) == "http://127.0.0.1:8050/watch"
    assert audience_url(Config(host="192.0.2.9", port=9000)) == "http://192.0.2.9:9000/watch"
    assert audience_url(Config(host="2001:db8::9", port=9000)) == "http://[2001:db8::9]:9000/watch"


def _addr(family: int, address: str) -> SimpleNamespace:
    return SimpleNamespace(family=family, address=address)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_wildcard_bind_names_the_first_non_loopback_address(monkeypatch, host):
    """0.0.0.0 is no address a phone can open: the machine's first non-loopback one stands in,
    IPv4 first; loopback, link-local and the interfaces' order are as psutil lists them."""
    interfaces = {
        "lo": [_addr(socket.AF_INET, "127.0.0.1"), _addr(socket.AF_INET6, "::1")],
        "eth0": [_addr(socket.AF_INET6, "fe80::1%eth0"), _addr(socket.AF_INET6, "2001:db8::5")],
        "wlan0": [_addr(socket.AF_PACKET, "00:11:22:33:44:55"), _addr(socket.AF_INET, "192.0.2.5")],
    }
    monkeypatch.setattr(audience.psutil, "net_if_addrs", lambda: interfaces)
    assert audience_url(Config(host=host, port=8050)) == "http://192.0.2.5:8050/watch"
    del interfaces["wlan0"]
    assert audience_url(Config(host=host, port=8050)) == "http://[2001:db8::5]:8050/watch"
    del interfaces["eth0"]
    assert audience_url(Config(host=host, port=8050)) == "http://127.0.0.1:8050/watch"


def test_help_says_how_the_audience_url_is_chosen(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--public-url URL" in text
    assert "first non-loopback address" in text


def test_the_qr_code_is_an_svg_made_without_network(monkeypatch):
    """segno draws it here: no socket is opened on the way."""

    def no_network(*_args, **_kwargs):
        raise AssertionError("the QR code must be made offline")

    monkeypatch.setattr(socket, "socket", no_network)
    svg = qr_svg("https://talk.example/tp/watch")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'viewBox="0 0 ' in svg  # sized by the page's CSS, not by fixed pixels


def test_a_public_url_no_qr_code_can_hold_is_refused_at_start(capsys):
    """Issue 17, fault 4: a 3,000-character --public-url was accepted, and every /stage was then
    a 500 (segno's DataOverflowError). The longest that fits is kept, and its code is drawn."""
    too_long = "https://talk.example/" + "a" * 2979
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--public-url", too_long])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--public-url" in err and "3006 characters with /watch" in err and "shorter address" in err
    fits = "https://talk.example/" + "a" * 2303  # 2,330 bytes with /watch: a version 40 code's limit
    assert parse_args(["--public-url", fits]).public_url == fits
    assert qr_svg(fits + "/watch").startswith("<svg")
