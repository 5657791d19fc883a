"""A small FastAPI app, as a user writes one: async views, sync views (run in anyio's thread pool),
and one async view that calls a blocking function by mistake."""

import asyncio
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict:
    await asyncio.sleep(0.001)  # stands for a query to an async database driver
    return {"id": item_id, "name": f"item {item_id}"}


@app.get("/report")
def report(ms: int = 0) -> dict:
    time.sleep(ms / 1000)  # a blocking library call: FastAPI runs a sync view in a worker thread
    return {"report": "ready"}


@app.get("/upstream")
async def upstream(ms: int = 0) -> dict:
    await asyncio.sleep(ms / 1000)  # awaits a slow upstream service
    return {"upstream": "answered"}


@app.get("/thumbnail")
async def thumbnail(ms: int = 0) -> dict:
    time.sleep(ms / 1000)  # the bug: a blocking call inside an async view holds the event loop
    return {"thumbnail": "made"}
