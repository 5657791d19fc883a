"""ASGI apps launched unchanged (`run.py -- COMMAND`, issue 19): a Quart app under Hypercorn and a
FastAPI app under uvicorn and under gunicorn's uvicorn worker, each shown with the shape its real
server reports (its event loop's tasks unbounded, drawn on the slots of the thread pool that runs
its sync views), every request wrk wrote counted exactly, and a blocking call in an async view shown
as the loop stall the demo's asyncio mode shows."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import requests

from dashboard.servers.manager import free_port
from tests.support import ROOT, Dashboard, wait_for
from tests.test_launch import _answers, own_server, settled_done, wrk

pytestmark = pytest.mark.integration

APPS = ROOT / "tests" / "apps" / "asyncapps"
BIN = Path(sys.executable).parent
# asyncio's default executor, which Quart runs sync views in: ThreadPoolExecutor's default size.
QUART_POOL = min(32, (os.cpu_count() or 1) + 4)
ANYIO_POOL = 40  # anyio's default thread limiter, which Starlette runs sync views in


def launched(*command: str, chdir: Path = APPS) -> Dashboard:
    return Dashboard("--chdir", str(chdir), "--", *command)


def tasks_of(dash: Dashboard, server: dict) -> list[dict]:
    """The server's tasks, over its processes."""
    state = dash.get("/api/state").json()
    return [t for p in state["processes"] if p["server"] == server["id"] for t in p["tasks"]]


def pool_read(dash: Dashboard, processes: int, slots: int) -> dict:
    """The launched server once its pool's size is known (read on the loop at the first request)."""
    return wait_for(
        lambda: (server := own_server(dash, processes))["slots"] == slots and server,
        30,
        interval=0.2,
        what=f"the launched server to draw {slots} slots a worker",
    )


def counts_exactly(dash: Dashboard, server: dict, url: str, tmp_path: Path) -> tuple[int, int]:
    """(wrk wrote, counted) of a wrk run at `url`, counted from where the server's tally settled
    before it (the probes that waited for the server to answer may have timed out and still been
    served). Law: every request wrk wrote is counted once; wrk's completed count is short of it by
    at most its 8 connections (in flight at its stop)."""
    before = settled_done(dash, server["id"], 1)
    sent, completed = wrk(url, tmp_path)
    done = settled_done(dash, server["id"], before + sent) - before
    assert sent - 8 <= completed <= sent, (sent, completed)
    return sent, done


def test_quart_under_hypercorn_shows_loop_tasks_on_its_executor_slots_and_counts_exactly(tmp_path):
    """The issue's bug: `run.py -- hypercorn app:app` showed no server at all. Law: every request
    wrk wrote is counted once, each an asyncio task; the page draws the executor that runs Quart's
    sync views as the slots of the one worker, with no bound on the loop's tasks."""
    port = free_port()
    dash = launched(str(BIN / "hypercorn"), "-b", f"127.0.0.1:{port}", "notes_quart:app")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/notes/1"), 30, interval=0.2, what="hypercorn to answer")
        server = pool_read(dash, 1, QUART_POOL)
        assert (server["kind"], server["workers"], server["threads"]) == ("hypercorn asyncio", 1, QUART_POOL)
        assert server["capacity"] is None and server["url"] == url
        assert server["label"] == f"hypercorn asyncio 1 × {QUART_POOL} :{port}"
        sent, done = counts_exactly(dash, server, f"{url}/notes/3", tmp_path)
        print(f"Quart on hypercorn, async view: wrk wrote {sent}; counted {done}")
        assert done == sent
        sent, done = counts_exactly(dash, server, f"{url}/export", tmp_path)
        print(f"Quart on hypercorn, sync view: wrk wrote {sent}; counted {done}")
        assert done == sent
        assert {t["kind"] for t in tasks_of(dash, server)} == {"asyncio"}
    finally:
        dash.stop_leaving_nothing()


def test_fastapi_under_uvicorn_2_workers_counts_async_and_sync_views_exactly_on_anyio_slots(tmp_path):
    """uvicorn serves each request as an asyncio task; FastAPI runs a sync view in anyio's worker
    threads, 40 at most: those are each worker's slots, and `--workers 2` one server of two
    processes under uvicorn's supervisor. Law: done = what wrk wrote, for both kinds of view."""
    port = free_port()
    dash = launched(str(BIN / "uvicorn"), "--port", str(port), "--workers", "2", "--no-access-log",
                    "shop_fastapi:app")  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/items/1"), 30, interval=0.2, what="uvicorn to answer")
        server = own_server(dash, processes=2)
        assert (server["kind"], server["workers"], server["capacity"]) == ("uvicorn asyncio", 2, None)
        assert server["url"] == url
        for view in ("/items/3", "/report?ms=1"):  # an async view, a sync one
            sent, done = counts_exactly(dash, server, url + view, tmp_path)
            print(f"FastAPI on uvicorn 2 workers, {view}: wrk wrote {sent}; counted {done}")
            assert done == sent
        assert pool_read(dash, 2, ANYIO_POOL)["label"] == f"uvicorn asyncio 2 × {ANYIO_POOL} :{port}"
        assert {t["kind"] for t in tasks_of(dash, server)} == {"asyncio"}
    finally:
        dash.stop_leaving_nothing()


def test_a_burst_of_sync_views_larger_than_anyio_pool_waits_in_the_worker_for_a_thread():
    """50 sync views at once on anyio's 40 threads: 40 run, 10 wait inside the process for a
    thread, which the page shows as the worker's queue, as it shows gthread's (gunicorn #908).
    Every one of the 50 is in service on its asyncio task, waiting."""
    port = free_port()
    dash = launched(str(BIN / "uvicorn"), "--port", str(port), "--no-access-log", "shop_fastapi:app")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/report"), 30, interval=0.2, what="uvicorn to answer")
        server = pool_read(dash, 1, ANYIO_POOL)
        # Long enough that the 50 are all in at once even when a busy machine opens them slowly.
        run = _burst(dash, "/report?ms=10000", 50)

        def queued() -> dict | None:
            (now,) = [s for s in dash.get("/api/state").json()["servers"] if s["id"] == server["id"]]
            if now["queues"]["in_workers"] != 10 or now["counters"]["in_service"] != 50:
                return None
            # Each is awaiting its thread; one the loop is resuming this instant reads running.
            return all(t["state"] == "waiting" for t in tasks_of(dash, server) if t["request"] is not None)

        wait_for(queued, 30, interval=0.1, what="40 sync views on the pool's threads and 10 waiting for one")
        assert dash.wait_run(run)["done"] == 50
        wait_for(lambda: own_server(dash, 1)["queues"]["in_workers"] == 0, 10, what="the queue to empty")
    finally:
        dash.stop_leaving_nothing()


def test_a_blocking_call_in_an_async_view_stalls_the_loop_and_starves_the_others():
    """A view that blocks never awaits: every other request of the loop waits behind it. The page
    shows the requests awaiting as waiting (the app declares no phases: the agent reads it off the
    loop), then names the blocker and shows the others starved by the hub, as the demo's asyncio
    mode does."""
    port = free_port()
    dash = launched(str(BIN / "uvicorn"), "--port", str(port), "--no-access-log", "shop_fastapi:app")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/items/1"), 30, interval=0.2, what="uvicorn to answer")
        server = own_server(dash, processes=1)
        before = settled_done(dash, server["id"], 1)
        waiting = _burst(dash, "/upstream?ms=4000", 4)

        def awaiting() -> bool:
            tasks = [t for t in tasks_of(dash, server) if t["request"] is not None]
            return len(tasks) == 4 and all(t["state"] == "waiting" for t in tasks)

        wait_for(awaiting, 10, interval=0.1, what="4 requests in service, each waiting on upstream")
        hog = _burst(dash, "/thumbnail?ms=1500", 1)

        def stalled():
            state = dash.get("/api/state").json()
            (process,) = [p for p in state["processes"] if p["server"] == server["id"]]
            tasks = [t for t in process["tasks"] if t["request"] is not None]
            starved = [t for t in tasks if (t["state"], t.get("why")) == ("starved", "hub")]
            blocker = [t for t in tasks if t["request"]["path"].startswith("/thumbnail")]
            if len(starved) == 4 and len(blocker) == 1 and process["stalled_by"] == blocker[0]["id"]:
                return blocker[0]
            return None

        blocker = wait_for(stalled, 10, interval=0.05, what="the blocking view to starve the 4 others")
        assert blocker["state"] == "running"
        assert dash.wait_run(hog)["done"] == 1
        assert dash.wait_run(waiting)["done"] == 4
        assert settled_done(dash, server["id"], before + 5) == before + 5
    finally:
        dash.stop_leaving_nothing()


def test_gunicorn_uvicorn_worker_2_workers_shows_both_with_anyio_slots_and_counts_exactly(tmp_path):
    """gunicorn's uvicorn worker class: gunicorn's shape (2 workers), each worker an event loop
    with anyio's 40 threads as its slots; the WSGI hook leaves the ASGI app to the ASGI one."""
    port = free_port()
    dash = launched(str(BIN / "gunicorn"), "-w", "2", "-k", "uvicorn_worker.UvicornWorker",
                    "-b", f"127.0.0.1:{port}", "--no-control-socket", "shop_fastapi:app")  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/items/1"), 30, interval=0.2, what="gunicorn to answer")
        server = own_server(dash, processes=2)
        assert (server["kind"], server["workers"], server["capacity"]) == ("gunicorn uvicorn", 2, None)
        assert server["url"] == url
        sent, done = counts_exactly(dash, server, f"{url}/items/3", tmp_path)
        print(f"FastAPI on gunicorn uvicorn 2 × 40: wrk wrote {sent}; counted {done}")
        assert done == sent
        assert pool_read(dash, 2, ANYIO_POOL)["label"] == f"gunicorn uvicorn 2 × {ANYIO_POOL} :{port}"
    finally:
        dash.stop_leaving_nothing()


def test_an_app_instrumented_by_hand_is_left_as_it_is(tmp_path):
    """One agent per process: an app the user wrapped with `instrument_asgi` is not wrapped again
    (two agents would count each request twice)."""
    (tmp_path / "handmade.py").write_text(
        "from starlette.applications import Starlette\n"
        "from starlette.responses import PlainTextResponse\n"
        "from starlette.routing import Route\n"
        "from threadpulse_agent.asgi import instrument_asgi\n\n"
        "async def hello(request):\n"
        "    return PlainTextResponse('hello')\n\n"
        "app = instrument_asgi(Starlette(routes=[Route('/hello', hello)]))\n"
    )
    port = free_port()
    uvicorn = str(BIN / "uvicorn")
    dash = launched(uvicorn, "--port", str(port), "--no-access-log", "handmade:app", chdir=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/hello"), 30, interval=0.2, what="uvicorn to answer")
        server = own_server(dash, processes=1)
        before = settled_done(dash, server["id"], 1)
        for _ in range(5):
            assert requests.get(f"{url}/hello", timeout=10).status_code == 200
        assert settled_done(dash, server["id"], before + 5) == before + 5
    finally:
        dash.stop_leaving_nothing()


def _burst(dash: Dashboard, path: str, count: int) -> str:
    """Fire `count` requests at once at the launched server, from the page's load generator."""
    reply = dash.post("/api/load", {"path": path, "count": count})
    assert reply.status_code == 202, reply.text
    return reply.json()["run"]
