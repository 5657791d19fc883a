"""Snapshots go to viewers in batches (dashboard/web/events.py): built and encoded once for every
viewer waiting when the batch goes, at most VIEWERS_PER_TURN at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from dashboard.app import create_app
from dashboard.config import VIEWERS_PER_TURN, Config
from dashboard.services import Services
from dashboard.web import events


@pytest.fixture
def app() -> Iterator[tuple[Flask, Services]]:
    """The dashboard's app in threading mode, its services never started: Flask-SocketIO's test
    clients call the handlers themselves."""
    app, services = create_app(Config(dashboard_worker="gthread"), start=False)
    yield app, services
    services.collector.sock.close()
    services.spawner.close()


def test_viewers_that_join_together_share_one_snapshot_and_a_later_one_gets_its_own(app, monkeypatch):
    """Issue 22: a room opening at once (1,000 phones) made a snapshot and its JSON per phone, a
    third of the hub's time, and every phone waited for all of it. Viewers waiting when the sender
    runs get one snapshot, the same for all, in batches of at most VIEWERS_PER_TURN (a larger emit
    yields to the hub midway, where a newer frame could overtake it); once none waits the sender
    ends, and the next viewer to join starts another."""
    app, services = app
    socketio = app.extensions["socketio"]
    senders: list[Callable[[], None]] = []
    monkeypatch.setattr(socketio, "start_background_task", senders.append)  # run below, by hand
    built: list[int] = []  # how many viewers each snapshot was built for, waiting ones included
    snapshot = services.broadcaster.snapshot

    def counted(newcomers: list[str]) -> dict:
        built.append(len(newcomers))
        return snapshot(newcomers)

    monkeypatch.setattr(services.broadcaster, "snapshot", counted)
    room = [socketio.test_client(app) for _ in range(VIEWERS_PER_TURN + 2)]
    assert len(senders) == 1 and not any(viewer.get_received() for viewer in room)
    senders.pop()()
    assert built == [VIEWERS_PER_TURN + 2, 2]  # the first batch's frame skips the second
    got = [viewer.get_received() for viewer in room]
    assert all([message["name"] for message in messages] == ["snapshot"] for messages in got)
    assert all(messages == got[0] for messages in got[:VIEWERS_PER_TURN])  # one snapshot, one batch
    assert got[0][0]["args"][0]["version"] == got[-1][0]["args"][0]["version"]

    late = socketio.test_client(app)
    assert len(senders) == 1  # the first sender ended once no viewer waited
    senders.pop()()
    assert built[2:] == [1] and [m["name"] for m in late.get_received()] == ["snapshot"]
    assert not any(viewer.get_received() for viewer in room)


def test_a_sender_that_could_not_start_does_not_hold_back_every_later_snapshot(app, monkeypatch):
    """A sender counted as on its way though none started (no thread to be had) would leave every
    later viewer without a snapshot for the dashboard's life: the next viewer starts one, and it
    serves both."""
    app, _services = app
    socketio = app.extensions["socketio"]

    def no_thread(target: Callable[[], None]) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(socketio, "start_background_task", no_thread)
    with pytest.raises(RuntimeError):
        socketio.test_client(app)
    senders: list[Callable[[], None]] = []
    monkeypatch.setattr(socketio, "start_background_task", senders.append)
    viewer = socketio.test_client(app)
    assert len(senders) == 1
    senders.pop()()
    assert [m["name"] for m in viewer.get_received()] == ["snapshot"]


def test_a_viewer_asking_again_while_it_waits_gets_one_snapshot_and_one_gone_gets_none(app, monkeypatch):
    """A viewer still waiting for its batch after RESYNC_EVERY_S that asked again was queued twice
    and sent two snapshots; one that left while waiting was still in the batch. Each viewer waits
    in the batch once, and leaves it with its connection."""
    app, _services = app
    socketio = app.extensions["socketio"]
    senders: list[Callable[[], None]] = []
    monkeypatch.setattr(socketio, "start_background_task", senders.append)
    monkeypatch.setattr(events, "RESYNC_EVERY_S", 0.0)  # its wait has been long enough
    viewer, gone = socketio.test_client(app), socketio.test_client(app)
    viewer.emit("resync")
    gone.disconnect()
    sent: list[list[str]] = []
    emit = socketio.emit

    def noted(event: str, *args: object, **kwargs: object) -> None:
        if event == "snapshot":
            sent.append(kwargs["to"])
        emit(event, *args, **kwargs)

    monkeypatch.setattr(socketio, "emit", noted)
    assert len(senders) == 1
    senders.pop()()
    assert sent == [[socketio.server.manager.sid_from_eio_sid(viewer.eio_sid, "/")]]
    assert [m["name"] for m in viewer.get_received()] == ["snapshot"]
