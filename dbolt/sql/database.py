"""A service's one way to the database: a psycopg async pool behind the named queries.

The pool (dbolt.sql.pool) is opened without waiting, so the service starts (and answers 503)
while the database is down, and it replaces broken connections by itself when the database
returns: no restart needed. Every failure to reach the database becomes DatabaseUnavailable,
and `reachable`/`last_error`/`unreachable_since` feed the orchestrator's /healthz.

    db = Database.from_settings(settings, name="webhook")
    await db.open()
    row = await db.fetch_one("database_ping")
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any, Self

import psycopg
from psycopg_pool import PoolClosed, PoolTimeout

from dbolt.settings import DatabaseSettingsMixin
from dbolt.sql.errors import DatabaseUnavailable
from dbolt.sql.gateway import Queries, Row
from dbolt.sql.pool import AsyncPool, connection, make_async_pool


class Database:
    def __init__(
        self, url: str, *, name: str, min_size: int, max_size: int, timeout: float
    ) -> None:
        self.queries = Queries.load()
        # `name` is the pool's (psycopg_pool's logs and stats say which service it is).
        self.pool: AsyncPool = make_async_pool(
            url, name=name, min_size=min_size, max_size=max_size, timeout=timeout
        )
        self.reachable = False
        self.last_error: str | None = None
        self.unreachable_since: float | None = None
        # Set when the database comes back, until someone records the outage.
        self.last_outage_seconds: float | None = None

    @classmethod
    def from_settings(cls, settings: DatabaseSettingsMixin, *, name: str) -> Self:
        return cls(
            settings.database_url.get_secret_value(),
            name=name,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            timeout=settings.db_timeout_seconds,
        )

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

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection; the database counts as reachable once the caller's work on it
        succeeded, and unreachable when it raised DatabaseUnavailable."""
        try:
            async with connection(self.pool) as conn:
                yield conn
        except DatabaseUnavailable as error:
            # No connection from the pool in time: its own error says more (/healthz shows it).
            cause = error.__cause__
            self._mark(cause if isinstance(cause, PoolTimeout | PoolClosed) else error)
            raise
        self._mark(None)

    async def fetch_all(self, name: str, **params: Any) -> list[Row]:
        async with self.connection() as conn:
            return await self.queries.afetch_all(conn, name, **params)

    async def fetch_one(self, name: str, **params: Any) -> Row | None:
        rows = await self.fetch_all(name, **params)
        return rows[0] if rows else None
