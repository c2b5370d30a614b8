"""Our queue: the SQL functions of supabase/migrations, called through dbolt's named queries
exactly as the orchestrator calls them (guards, audit rows, realtime broadcasts included)."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from bench.common import bench_directory_ids, count_finished, prefill_jobs
from bench.queue import databases
from bench.queue.sync_client import SyncClient
from dbolt.sql import Queries

DATABASE = "dbolt_bench_queue"
LEASE_SECONDS = 300

# Five directories, so every job gets exactly five to report on.
DIRECTORY_IDS = bench_directory_ids(5)


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
                # A confirmed first-attempt success; the fields it leaves out are null. A
                # plain dict, not the pydantic contract, so this process loads no more than
                # the queue client needs (its memory is measured).
                report = {
                    "directory_id": directory_id,
                    "attempt": 1,
                    "outcome": "success",
                    "confirmed": True,
                }
                self.queries.fetch_one(
                    self.conn, "jobs_report_attempt", **lease, report=Jsonb(report)
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
        prefill_jobs(url, self.queries, jobs, DIRECTORY_IDS)

    def client(self, url: str, index: int) -> OursClient:
        return OursClient(url, index, self.queries)

    def count_finished(self, url: str) -> int:
        return count_finished(url, len(DIRECTORY_IDS))


SYSTEM = Ours()
