"""Our queue: the SQL functions of supabase/migrations, called through dbolt's named queries
exactly as the orchestrator calls them (guards, audit rows, realtime broadcasts included)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench.queue import databases
from bench.queue.sync_client import SyncClient
from dbolt.sql import Queries

DATABASE = "dbolt_bench_queue"
LEASE_SECONDS = 300

# Five enabled starter directories, so every job gets exactly five to report on. The
# homepage is a closed port: nothing here ever visits it.
DIRECTORY_IDS = tuple(f"bench-directory-{n}" for n in range(1, 6))
DIRECTORIES = [
    {
        "id": directory_id,
        "name": f"Bench directory {n}",
        "homepage": "http://127.0.0.1:9/x",
        "tier": "starter",
        "mode": "auto",
        "enabled": True,
    }
    for n, directory_id in enumerate(DIRECTORY_IDS, start=1)
]

# Every job is a starter job; a cap above any client count keeps the tier's running cap
# from throttling the measurement (its slot counter is still taken and given back).
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
   and (select count(*) from job_results r where r.job_id = j.id) = 5
"""

# jobs_report_attempt's optional arguments; the named query lists them all.
NO_DETAILS: dict[str, Any] = {
    "error_code": None,
    "message": None,
    "listing_url": None,
    "action_required": None,
    "duration_ms": None,
    "captcha_kind": None,
    "captcha_solved": None,
    "proxy": None,
}


class OursClient(SyncClient):
    def __init__(self, url: str, index: int, queries: Queries) -> None:
        super().__init__(url)
        self.worker_id = f"bench-worker-{index}"
        self.queries = queries

    def work(self) -> int:
        cycles = 0
        while job := self.queries.fetch_one(
            self.conn, "jobs_next", worker_id=self.worker_id, lease_seconds=LEASE_SECONDS
        ):
            lease = {"job_id": job["id"], "lease_token": job["lease_token"]}
            for directory_id in DIRECTORY_IDS:
                self.queries.fetch_one(
                    self.conn,
                    "jobs_report_attempt",
                    **lease,
                    directory_id=directory_id,
                    attempt=1,
                    outcome="success",
                    confirmed=True,
                    artifacts=Jsonb({}),
                    **NO_DETAILS,
                )
            self.queries.fetch_one(self.conn, "jobs_complete", **lease)
            cycles += 1
        return cycles


class Ours:
    def __init__(self) -> None:
        self.queries = Queries.load()

    def create_database(self) -> str:
        return databases.fresh_migrated(DATABASE)

    def prefill(self, url: str, jobs: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            self.queries.fetch_one(conn, "directories_sync", entries=Jsonb(DIRECTORIES))
            conn.execute("update tiers set max_running = %s", (UNCAPPED_RUNNING,))
            conn.execute(PREFILL_SQL, {"jobs": jobs})
            # Statistics for the tables the prefill filled, and only those: analysing a table
            # while it is still empty (job_results, audit_log) records it as empty, and the
            # PL/pgSQL functions would then keep a cached seq-scan plan on it all run long.
            conn.execute("analyze jobs, job_directories")

    def client(self, url: str, index: int) -> OursClient:
        return OursClient(url, index, self.queries)

    def count_finished(self, url: str) -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute(FINISHED_SQL).fetchone()
        return int(row[0]) if row else 0


SYSTEM = Ours()
