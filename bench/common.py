"""Helpers the benchmarks share: fresh databases on the local cluster, and our queue filled
with jobs through the real SQL functions.

Every run gets a brand-new database (devstack.localdb, 127.0.0.1:54322), so no run pays for
the dead rows of the one before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from devstack import localdb

MIB = 1024 * 1024

# A tier cap above any client count keeps the running cap from throttling a measurement
# (its slot counter is still taken and given back on every claim and completion).
UNCAPPED_RUNNING = 1_000_000

# One statement: paid orders from the dev seed, each enqueued by the real jobs_enqueue.
PREFILL_SQL = """
select count(*)
  from generate_series(1, %(jobs)s) as n,
       lateral jobs_enqueue(order_id => dev.create_paid_order(
         email => 'bench-' || n || '@example.com', tier => 'starter')) as job
"""

FINISHED_SQL = """
select count(*) from jobs j
 where j.status = 'complete'
   and (select count(*) from job_results r where r.job_id = j.id) = %(results_per_job)s
"""

TOTALS_SQL = """
select (select count(*) from jobs) as jobs,
       (select count(*) from jobs where status = 'complete') as complete,
       (select count(*) from job_results) as results,
       (select count(*) from job_directories) as directories,
       (select count(*) from job_directories where status = 'submitted') as submitted
"""


def start_cluster() -> None:
    localdb.start()


def fresh_migrated(name: str) -> str:
    """A clone of the fully migrated template: our schema, seed and directory list."""
    return localdb.fresh(name)


def fresh_empty(name: str) -> str:
    """An empty database, for the systems that bring their own schema."""
    localdb.start()
    with psycopg.connect(localdb.database_url(), autocommit=True) as conn:
        identifier = psycopg.sql.Identifier(name)
        conn.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(identifier))
        conn.execute(psycopg.sql.SQL("create database {}").format(identifier))
    return localdb.database_url(name)


def server_version() -> str:
    with psycopg.connect(localdb.database_url()) as conn:
        row = conn.execute("show server_version").fetchone()
    return str(row[0]) if row else "unknown"


def bench_directory_ids(count: int) -> tuple[str, ...]:
    return tuple(f"bench-directory-{n}" for n in range(1, count + 1))


def bench_directories(directory_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Enabled starter directories, so every starter job gets exactly these to report on.

    The homepage is a closed port: nothing here ever visits it.
    """
    return [
        {
            "id": directory_id,
            "name": f"Bench directory {n}",
            "homepage": "http://127.0.0.1:9/x",
            "tier": "starter",
            "mode": "auto",
            "enabled": True,
        }
        for n, directory_id in enumerate(directory_ids, start=1)
    ]


def prefill_jobs(url: str, queries: Queries, jobs: int, directory_ids: Sequence[str]) -> None:
    """`jobs` pending starter jobs, each over exactly `directory_ids`, with no cap in the way.

    directories_sync disables every directory not listed, so the jobs get these and only these.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        queries.fetch_one(conn, "directories_sync", entries=Jsonb(bench_directories(directory_ids)))
        conn.execute("update tiers set max_running = %s", (UNCAPPED_RUNNING,))
        conn.execute(PREFILL_SQL, {"jobs": jobs})
        # Statistics for the tables the prefill filled, and only those: analysing a table
        # while it is still empty (job_results, audit_log) records it as empty, and the
        # PL/pgSQL functions would then keep a cached seq-scan plan on it all run long.
        conn.execute("analyze jobs, job_directories")


def count_finished(url: str, results_per_job: int) -> int:
    """Jobs that are complete with exactly `results_per_job` attempt rows."""
    with psycopg.connect(url) as conn:
        row = conn.execute(FINISHED_SQL, {"results_per_job": results_per_job}).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class QueueTotals:
    """What a drained queue holds; enough to tell a lost or doubled job from a good run."""

    jobs: int
    complete: int
    results: int
    directories: int
    submitted: int


def queue_totals(url: str) -> QueueTotals:
    with psycopg.connect(url) as conn:
        row = conn.execute(TOTALS_SQL).fetchone()
    assert row is not None
    return QueueTotals(*(int(value) for value in row))
