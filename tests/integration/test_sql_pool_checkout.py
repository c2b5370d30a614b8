"""The services' pool checks a connection at checkout (dbolt.sql.pool.check_alive) without a
round trip: a connection whose backend died while idle in the pool is replaced, so the
request that takes it still succeeds, and a healthy one is handed out without a query."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from dbolt.sql.pool import AsyncPool, connection, make_async_pool

MARKER = "select 'last query before the checkout'"


def _one_connection_pool(db_url: str) -> AsyncPool:
    return make_async_pool(db_url, name="test-checkout", min_size=1, max_size=1, timeout=5.0)


async def _backend_pid(pool: AsyncPool, query: str = "select 1") -> int:
    async with connection(pool) as conn:
        await conn.execute(query)
        return conn.pgconn.backend_pid


def _last_query(db_url: str, pid: int) -> Any:
    with psycopg.connect(db_url, autocommit=True) as admin:
        row = admin.execute("select query from pg_stat_activity where pid = %s", [pid]).fetchone()
    return row[0] if row else None


def test_a_connection_killed_while_idle_is_replaced_at_checkout(db_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        async with _one_connection_pool(db_url) as pool:
            await pool.wait()
            killed = await _backend_pid(pool)
            with psycopg.connect(db_url, autocommit=True) as admin:
                # Waits until the backend is gone (it sent its FATAL and closed the socket).
                admin.execute("select pg_terminate_backend(%s, 5000)", [killed])
            return killed, await _backend_pid(pool)

    killed, replacement = asyncio.run(scenario())
    assert replacement != killed


def test_a_healthy_idle_connection_is_handed_out_without_a_query(db_url: str) -> None:
    async def scenario() -> tuple[int, int, Any]:
        async with _one_connection_pool(db_url) as pool:
            await pool.wait()
            first = await _backend_pid(pool, MARKER)
            async with connection(pool) as conn:
                # Checked out again: the backend's last statement is still ours, so the check
                # sent nothing (the pool's own check would have run an empty query).
                seen = await asyncio.to_thread(_last_query, db_url, first)
                return first, conn.pgconn.backend_pid, seen

    first, second, last_query = asyncio.run(scenario())
    assert second == first
    assert last_query == MARKER
