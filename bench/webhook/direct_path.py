"""The direct path: the receiver's own named query on a pool built the way the receiver
builds its own (dbolt.sql.pool.make_async_pool), full before the clock starts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench.orchestrator import processes
from bench.webhook import events
from bench.webhook.load import Level, run_level
from bench.webhook.results import RunResult
from bench.webhook.settings import RunSettings
from dbolt.sql import Queries
from dbolt.sql.pool import AsyncPool, connection, make_async_pool

Send = Callable[[events.Event], Awaitable[dict[str, Any]]]


def _sender(pool: AsyncPool, queries: Queries) -> Send:
    async def send(event: events.Event) -> dict[str, Any]:
        async with connection(pool) as conn:
            # The receiver's verdict on the session's checkout proof (the events carry a
            # valid one): what it passes after checking it.
            row = await queries.afetch_one(
                conn, "stripe_events_apply", event=event.payload, issued_by_checkout=True
            )
        assert row is not None
        result: dict[str, Any] = row["result"]
        return result

    return send


async def _drive(database_url: str, settings: RunSettings) -> RunResult:
    queries = Queries.load()
    pool = make_async_pool(
        database_url,
        name="bench-webhook-direct",
        min_size=settings.pool_size,
        max_size=settings.pool_size,
        timeout=30.0,
    )
    await pool.open(wait=True)
    try:
        levels: list[Level] = []
        replayed: Sequence[events.Event] = ()
        for concurrency in settings.concurrencies:
            batch = events.batch(concurrency, settings.events)
            senders = [_sender(pool, queries) for _ in range(concurrency)]
            levels.append(await run_level("apply", batch, senders))
            if concurrency == settings.replay_concurrency:
                replayed = batch
        senders = [_sender(pool, queries) for _ in range(settings.replay_concurrency)]
        replay = await run_level("replay", replayed, senders)
        rss = processes.rss_bytes(os.getpid())
    finally:
        await pool.close()
    return RunResult("direct SQL", levels, replay, rss)


def run(database_url: str, settings: RunSettings) -> RunResult:
    return asyncio.run(_drive(database_url, settings))
