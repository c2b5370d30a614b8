"""The orchestrator's one way to the database: a psycopg async pool behind the named queries.

The pool (dbolt.sql.pool) is opened without waiting, so the service starts (and answers 503)
while the database is down, and it replaces broken connections by itself when the database
returns: no restart needed. Every failure to reach the database becomes DatabaseUnavailable,
and `reachable`/`last_error` feed /healthz.
"""

from __future__ import annotations

import time
from typing import Any

from psycopg_pool import PoolClosed, PoolTimeout

from dbolt.sql import DatabaseUnavailable, Queries
from dbolt.sql.gateway import Row
from dbolt.sql.pool import AsyncPool, connection, make_async_pool


class Database:
    def __init__(self, url: str, *, min_size: int, max_size: int, timeout: float) -> None:
        self.queries = Queries.load()
        self.pool: AsyncPool = make_async_pool(
            url, name="orchestrator", min_size=min_size, max_size=max_size, timeout=timeout
        )
        self.reachable = False
        self.last_error: str | None = None
        self.unreachable_since: float | None = None
        # Set when the database comes back, until someone records the outage.
        self.last_outage_seconds: float | None = None

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    def _mark(self, error: BaseException | None) -> None:
        if error is None:
            if self.unreachable_since is not None:
                self.last_outage_seconds = time.monotonic() - self.unreachable_since
            self.reachable = True
            self.unreachable_since = None
            return
        self.reachable = False
        self.last_error = type(error).__name__ + ": " + (str(error).splitlines() or [""])[0]
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()

    async def fetch_all(self, name: str, **params: Any) -> list[Row]:
        try:
            async with connection(self.pool) as conn:
                rows = await self.queries.afetch_all(conn, name, **params)
        except DatabaseUnavailable as error:
            # No connection from the pool in time: its own error says more (/healthz shows it).
            cause = error.__cause__
            self._mark(cause if isinstance(cause, PoolTimeout | PoolClosed) else error)
            raise
        self._mark(None)
        return rows

    async def fetch_one(self, name: str, **params: Any) -> Row | None:
        rows = await self.fetch_all(name, **params)
        return rows[0] if rows else None
