"""The webhook's way to the database: a psycopg async pool behind the named queries.

Opened without waiting, so the receiver starts (and answers 503, which Stripe retries) while
the database is down, and replaces broken connections by itself when it returns.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from dbolt.sql import DatabaseUnavailable, Queries
from dbolt.sql.gateway import Row


class Database:
    def __init__(self, url: str, *, min_size: int, max_size: int, timeout: float) -> None:
        self.queries = Queries.load()
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
            check=AsyncConnectionPool.check_connection,
            name="webhook",
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def fetch_all(self, name: str, **params: Any) -> list[Row]:
        try:
            async with self.pool.connection() as conn:
                return await self.queries.afetch_all(conn, name, **params)
        except (PoolTimeout, psycopg.OperationalError) as error:
            raise DatabaseUnavailable("the database is unreachable") from error

    async def fetch_one(self, name: str, **params: Any) -> Row | None:
        rows = await self.fetch_all(name, **params)
        return rows[0] if rows else None
