"""The direct path: the same named queries the orchestrator runs, called from here.

Concurrency is shaped like the orchestrator's, so the comparison isolates the HTTP door: the
same number of asyncio tasks as simulated workers, sharing the very pool the orchestrator
builds (dbolt.sql.pool.make_async_pool: autocommit, its liveness check at checkout) at the
size and checkout timeout the orchestrator is given, one checkout per call as
`dbolt.sql.database.Database` does. (64 threads with 64 connections would measure a different
database load, not the cost of the door.)
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from bench.orchestrator import processes
from bench.orchestrator.drain import Claim, Drained, confirmed_success, drain
from bench.orchestrator.results import RunResult, RunSettings
from dbolt.sql import Queries
from dbolt.sql.gateway import Row
from dbolt.sql.pool import AsyncPool as Pool
from dbolt.sql.pool import make_async_pool

# Every client backend in the benchmark's database is one of the pool's.
POOL_PIDS_SQL = """
select pid from pg_stat_activity
 where datname = current_database() and backend_type = 'client backend'
"""


class SqlDoor:
    def __init__(self, pool: Pool, queries: Queries, worker_id: str, lease_seconds: int) -> None:
        self.pool = pool
        self.queries = queries
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds

    async def _call(self, name: str, **params: Any) -> Row | None:
        async with self.pool.connection() as conn:
            return await self.queries.afetch_one(conn, name, **params)

    async def claim(self) -> Claim | None:
        row = await self._call(
            "jobs_next_assignment", worker_id=self.worker_id, lease_seconds=self.lease_seconds
        )
        if row is None:
            return None
        directory_ids = tuple(task["directory_id"] for task in row["directories"])
        return Claim(row["id"], row["lease_token"], directory_ids)

    async def report(self, claim: Claim, directory_id: str) -> None:
        # The arguments the orchestrator's /attempts handler passes for the same report.
        report = confirmed_success(claim, directory_id)
        await self._call(
            "jobs_report_attempt",
            job_id=claim.job_id,
            lease_token=claim.lease_token,
            report=report.record(),
        )

    async def complete(self, claim: Claim) -> None:
        await self._call("jobs_complete", job_id=claim.job_id, lease_token=claim.lease_token)


def _pool(database_url: str, settings: RunSettings) -> Pool:
    # min = max and opened with wait=True: full before the clock starts, as the
    # orchestrator's pool is when its path is timed.
    size = settings.pool_size
    return make_async_pool(
        database_url,
        name="bench-direct",
        min_size=size,
        max_size=size,
        timeout=settings.checkout_timeout_seconds,
    )


async def _pool_pids(pool: Pool) -> list[int]:
    async with pool.connection() as conn:
        cursor = await conn.execute(POOL_PIDS_SQL)
        return [int(row[0]) for row in await cursor.fetchall()]


async def _drive(database_url: str, settings: RunSettings) -> tuple[Drained, dict[str, float], int]:
    """Drain the queue; CPU used meanwhile, and this process's RSS with the pool open."""
    queries = Queries.load()
    pool = _pool(database_url, settings)
    await pool.open(wait=True)
    try:
        pids = {"postgres": await _pool_pids(pool)}
        doors = [
            SqlDoor(pool, queries, f"bench-direct-{index}", settings.lease_seconds)
            for index in range(settings.workers)
        ]
        before = processes.cpu_snapshot(pids)
        drained = await drain(doors)
        after = processes.cpu_snapshot(pids)
        rss = processes.rss_bytes(os.getpid())
    finally:
        await pool.close()
    return drained, processes.cpu_used(before, after), rss


def run(database_url: str, settings: RunSettings) -> RunResult:
    drained, cpu, bench_rss = asyncio.run(_drive(database_url, settings))
    return RunResult("direct SQL", settings.workers, drained, cpu, bench_rss)
