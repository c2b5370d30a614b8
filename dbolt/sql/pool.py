"""The services' async connection pool, and the one place its failures become DatabaseUnavailable.

    pool = make_async_pool(url, name="webhook", min_size=1, max_size=4, timeout=5.0)
    await pool.open(wait=False)
    async with connection(pool) as conn:
        rows = await queries.afetch_all(conn, "some_query", ...)

The pool is opened without waiting (`open=False` here, `open(wait=False)` by the service), so a
service starts — and answers 503 — while the database is down. Connections broken by a
database restart are noticed at checkout (check_alive) and replaced, and the pool keeps trying
to reconnect for a day, so nobody has to restart a service after an outage.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg import pq
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from dbolt.sql.errors import DatabaseUnavailable

AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]

UNREACHABLE = "the database is unreachable"
RECONNECT_TIMEOUT_SECONDS = 24 * 3600.0


def _has_input(fd: int) -> bool:
    """Whether the socket has something to read (or hung up) right now, without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


async def check_alive(conn: psycopg.AsyncConnection[Any]) -> None:
    """The checkout check: a round trip only when something says the connection may be dead.

    An idle connection has nothing to read. A server that stops, restarts or terminates the
    backend sends a FATAL message and closes the socket, which makes it readable: only then
    (or when libpq already knows the connection is bad) does the pool's own check run its
    empty query, which fails, and the pool discards the connection and hands out another.
    Running that query on every checkout was a second round trip on every request.
    """
    if conn.closed or conn.pgconn.status != pq.ConnStatus.OK or _has_input(conn.pgconn.socket):
        await AsyncConnectionPool.check_connection(conn)


def make_async_pool(
    url: str, *, name: str, min_size: int, max_size: int, timeout: float
) -> AsyncPool:
    """An unopened autocommit pool; `timeout` bounds both checkout and each connect attempt."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        open=False,
        kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
        # A connection that died while the database restarted is noticed at checkout,
        # not by the request that would have used it.
        check=check_alive,
        reconnect_timeout=RECONNECT_TIMEOUT_SECONDS,
        name=name,
    )


@contextlib.asynccontextmanager
async def connection(pool: AsyncPool) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection from `pool`; no connection in time, or a lost one, is DatabaseUnavailable."""
    try:
        async with pool.connection() as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as error:
        raise DatabaseUnavailable(UNREACHABLE) from error
