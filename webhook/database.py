"""The webhook's way to the database: a psycopg async pool behind the named queries.

Opened without waiting (dbolt.sql.pool), so the receiver starts (and answers 503, which Stripe
retries) while the database is down, and replaces broken connections by itself when it returns.
"""

from __future__ import annotations

from typing import Any

from dbolt.sql import Queries
from dbolt.sql.gateway import Row
from dbolt.sql.pool import AsyncPool, connection, make_async_pool


class Database:
    def __init__(self, url: str, *, min_size: int, max_size: int, timeout: float) -> None:
        self.queries = Queries.load()
        self.pool: AsyncPool = make_async_pool(
            url, name="webhook", min_size=min_size, max_size=max_size, timeout=timeout
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def fetch_all(self, name: str, **params: Any) -> list[Row]:
        async with connection(self.pool) as conn:
            return await self.queries.afetch_all(conn, name, **params)

    async def fetch_one(self, name: str, **params: Any) -> Row | None:
        rows = await self.fetch_all(name, **params)
        return rows[0] if rows else None
