"""Replies: sustained load finds the end of every reply a real server may send, so it never sends
on a connection out of step with its replies (a keep-alive connection carries many)."""

from __future__ import annotations

import pytest

from dashboard.loadgen.replies import MAX_HEAD, Replies


def test_content_length_replies_end_where_their_length_says_even_split_anywhere():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 NF\r\nContent-Length: 2\r\n\r\nno"
    for cut in range(len(data) + 1):
        replies = Replies()
        assert replies.feed(data[:cut]) + replies.feed(data[cut:]) == [(200, False), (404, False)]
        assert not replies.pending()


def test_chunked_replies_end_at_the_last_chunk_and_its_trailer():
    """A streamed Flask response under gunicorn is chunked: the old reader refused it as an error."""
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n10\r\n" + b"x" * 16
    data += b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    replies = Replies()
    assert [replies.feed(data[i : i + 1]) for i in range(len(data))][-1] == [(200, False)]
    assert not replies.pending()


def test_head_204_and_304_replies_have_no_body_whatever_their_length_says():
    head = Replies(head_only=True)
    assert head.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n") == [(200, False)]
    plain = Replies()
    assert plain.feed(b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 NM\r\nContent-Length: 9\r\n\r\n") == [
        (204, False),
        (304, False),
    ]


def test_an_interim_reply_is_skipped_and_connection_close_is_seen():
    replies = Replies()
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    assert replies.feed(data) == [(201, True)]
    assert Replies().feed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == [(200, True)]


def test_a_body_without_length_runs_until_the_server_closes():
    replies = Replies()
    assert replies.feed(b"HTTP/1.0 200 OK\r\n\r\nsome body") == []
    assert replies.pending() and replies.eof() == 200
    cut = Replies()
    cut.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert cut.pending() and cut.eof() is None  # cut off: the request failed


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20_000,
    ],
)
def test_a_malformed_reply_is_a_value_error(data):
    with pytest.raises(ValueError):
        Replies().feed(data)


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD + b"\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"x" * MAX_HEAD + b"\r\na\r\n0\r\n\r\n",
    ],
)
def test_a_head_or_chunk_line_beyond_the_limit_is_refused_even_when_it_comes_whole(data):
    """The bound held only while a head was incomplete: one that came in one read passed whatever
    its length (issue 18, found moving bursts onto this reader)."""
    with pytest.raises(ValueError, match="too long"):
        Replies().feed(data)
