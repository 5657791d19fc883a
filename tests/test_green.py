"""The dashboard's gevent worker (dashboard/green.py): what it does to the collector before serving."""

from __future__ import annotations

import gc

from gunicorn.workers.ggevent import GeventWorker

from dashboard.green import FULL_COLLECTION_EVERY, GreenWorker


def test_the_worker_freezes_its_start_and_walks_every_object_a_tenth_as_often(monkeypatch):
    """Issue 22: a full collection holds the hub while it walks every viewer's objects (three of
    ~60 ms each while 1,000 viewers joined): what exists at the start is frozen out of its reach,
    and full collections come after 100 middle ones, not CPython's 10."""
    seen = {}

    def serve(worker: GreenWorker) -> None:
        seen.update(threshold=gc.get_threshold(), frozen=gc.get_freeze_count())

    monkeypatch.setattr(GeventWorker, "run", serve)
    saved = gc.get_threshold()
    try:
        GreenWorker.run(object.__new__(GreenWorker))
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()
    assert seen["threshold"] == (saved[0], saved[1], FULL_COLLECTION_EVERY) and FULL_COLLECTION_EVERY == 100
    assert seen["frozen"] > 0
