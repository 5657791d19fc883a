"""A small Quart app, as a user writes one: async views, and a sync view Quart runs in its executor."""

import asyncio
import time

from quart import Quart, jsonify

app = Quart(__name__)


@app.get("/notes/<int:note_id>")
async def note(note_id: int):
    await asyncio.sleep(0.001)  # stands for a query to an async database driver
    return jsonify(id=note_id, text=f"note {note_id}")


@app.get("/export")
def export():
    time.sleep(0.2)  # a blocking library call: Quart runs a sync view in a thread of its executor
    return jsonify(exported=True)
