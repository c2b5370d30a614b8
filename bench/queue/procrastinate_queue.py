"""procrastinate (PyPI) doing the same cycle through its lowest public job API.

Measured: `JobManager.fetch_job` (procrastinate_fetch_job_v2: SKIP LOCKED claim) → the
task's five result inserts → `JobManager.finish_job` (procrastinate_finish_job_v1). Not its
Worker, whose polling sleeps and task dispatch would measure the wrong thing.

Each client is a thread running its own event loop with its own connector, whose pool holds
exactly one connection, so every system runs one connection per client thread. The pool's
connections are autocommit like the other systems' (procrastinate's queries are single
statements, so this only saves the BEGIN/COMMIT round trips); the pool's per-checkout
liveness check, which procrastinate turns on, is procrastinate's own cost and stays.
The five inserts take one checkout of that pool, as a task sharing the app's pool would.
"""

from __future__ import annotations

import asyncio
from typing import Any

import procrastinate
import psycopg
from procrastinate.jobs import Status

from bench.queue import databases
from bench.queue.harness import BACKEND_MEMORY_SQL

DATABASE = "dbolt_bench_procrastinate"
TASK_NAME = "bench_noop"
RESULTS_PER_JOB = 5

RESULTS_SCHEMA_SQL = "create table bench_results (job_id bigint not null, n int not null)"
RESULT_SQL = "insert into bench_results (job_id, n) values (%(job_id)s, %(n)s)"
FINISHED_SQL = """
select count(*) from procrastinate_jobs j
 where j.status = 'succeeded'
   and (select count(*) from bench_results r where r.job_id = j.id) = 5
"""


def _noop() -> None:
    """The task body; never run, since the benchmark drives the job API itself."""


def make_app(url: str) -> tuple[procrastinate.App, procrastinate.PsycopgConnector]:
    connector = procrastinate.PsycopgConnector(
        conninfo=url, min_size=1, max_size=1, kwargs={"autocommit": True}
    )
    app = procrastinate.App(connector=connector)
    app.task(name=TASK_NAME)(_noop)
    return app, connector


async def _prefill(url: str, jobs: int) -> None:
    app, connector = make_app(url)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        await connector.execute_query_async(RESULTS_SCHEMA_SQL)
        # One multi-row insert, as procrastinate's batch defer does.
        await app.tasks[TASK_NAME].batch_defer_async(*({} for _ in range(jobs)))
        # Only the filled table, as for the other systems.
        await connector.execute_query_async("analyze procrastinate_jobs")


class ProcrastinateClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self._runner = asyncio.Runner()
        self._app, self._connector = make_app(url)
        self._worker_id: int | None = None

    def open(self) -> None:
        self._runner.run(self._open())

    async def _open(self) -> None:
        await self._connector.open_async()
        # fetch_job records which worker holds the job; procrastinate's Worker registers too.
        self._worker_id = await self._app.job_manager.register_worker()

    def work(self) -> int:
        return self._runner.run(self._work())

    async def _work(self) -> int:
        manager = self._app.job_manager
        assert self._worker_id is not None
        cycles = 0
        while job := await manager.fetch_job(queues=None, worker_id=self._worker_id):
            async with self._connector.pool.connection() as conn:
                for n in range(1, RESULTS_PER_JOB + 1):
                    await conn.execute(RESULT_SQL, {"job_id": job.id, "n": n})
            await manager.finish_job(job, status=Status.SUCCEEDED, delete_job=False)
            cycles += 1
        return cycles

    def backend_memory_bytes(self) -> int:
        return self._runner.run(self._backend_memory_bytes())

    async def _backend_memory_bytes(self) -> int:
        row: dict[str, Any] = await self._connector.execute_query_one_async(BACKEND_MEMORY_SQL)
        return int(row["bytes"])

    def close(self) -> None:
        try:
            self._runner.run(self._connector.close_async())
        finally:
            self._runner.close()


class Procrastinate:
    def create_database(self) -> str:
        return databases.fresh_empty(DATABASE)

    def prefill(self, url: str, jobs: int) -> None:
        asyncio.run(_prefill(url, jobs))

    def client(self, url: str, index: int) -> ProcrastinateClient:
        return ProcrastinateClient(url)

    def count_finished(self, url: str) -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute(FINISHED_SQL).fetchone()
        return int(row[0]) if row else 0


SYSTEM = Procrastinate()
