"""Each request of the worker API's hot path is one round trip to the database.

Counted on the wire (tests/support/pg_wire.py): every Sync or simple Query the orchestrator's
pool sends between a request and its answer. A ping at checkout, a BEGIN/COMMIT pair or a
set_config before the call would each show up as one more. (psycopg prepares a statement the
fifth time a connection runs it, which costs one extra round trip once per connection and
statement: each request here is made fewer times than that.)
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import psycopg

from dbolt.sql import Queries
from tests.support.orchestrator_harness import WORKER, build
from tests.support.pg_wire import WireCounter
from tests.support.queue_helpers import create_job, enable_test_directories


async def _round_trips(db_url: str, directory_ids: list[str]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    async with WireCounter.running(db_url) as wire:
        # No lifespan (ASGITransport sends none), so no background loop shares the pool: what
        # crosses the wire during a request is that request's. One connection, opened first.
        app = build(wire.conninfo, db_pool_min_size=1, db_pool_max_size=1)
        db = app.state.orchestrator.db
        await db.open()
        await db.pool.wait()
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://orchestrator", headers=WORKER
            ) as client:

                async def post(name: str, path: str, body: dict[str, Any]) -> httpx.Response:
                    wire.reset()
                    response = await client.post(path, json=body)
                    assert response.status_code in (200, 204), response.text
                    counts.setdefault(name, []).append(wire.round_trips)
                    return response

                job = (await post("jobs-next", "/jobs-next", {"worker_id": "w-1"})).json()
                job_id, lease = uuid.UUID(job["job_id"]), job["lease_token"]
                await post("heartbeat", f"/jobs/{job_id}/heartbeat", {"lease_token": lease})
                for directory_id in directory_ids:
                    report = {
                        "lease_token": lease,
                        "directory_id": directory_id,
                        "attempt": 1,
                        "outcome": "success",
                        "confirmed": True,
                    }
                    await post("attempt", f"/jobs/{job_id}/attempts", report)
                await post("complete", f"/jobs/{job_id}/complete", {"lease_token": lease})
                await post("jobs-next", "/jobs-next", {"worker_id": "w-1"})  # the empty 204
        finally:
            await db.close()
    return counts


def test_each_hot_path_request_is_one_round_trip(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directory_ids = enable_test_directories(conn, 3)
    create_job(conn, queries)
    counts = asyncio.run(_round_trips(db_url, directory_ids))
    assert counts == {
        "jobs-next": [1, 1],
        "heartbeat": [1],
        "attempt": [1, 1, 1],
        "complete": [1],
    }
