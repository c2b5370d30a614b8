"""A claimer process for the concurrency test: what a worker does, minus the browser.

python -m tests.support.queue_claimer DB_URL WORKER_ID SEED

Claims jobs until none are pending or running, reports one successful attempt per remaining
directory, and completes the job — or, now and then, releases it halfway, as a worker that
is shut down would. Prints one JSON line per event for the test to check.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

import psycopg

from dbolt.sql import InvalidTransition, Queries
from tests.support.queue_helpers import report


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}, default=str), flush=True)


def _work_on(
    conn: psycopg.Connection[Any], queries: Queries, job: dict[str, Any], rng: random.Random
) -> None:
    remaining = queries.fetch_all(conn, "job_directories_list_remaining", job_id=job["id"])
    release_after = rng.randrange(len(remaining)) if rng.random() < 0.15 else None
    for index, directory in enumerate(remaining):
        if index == release_after:
            queries.fetch_one(
                conn, "jobs_release", job_id=job["id"], lease_token=job["lease_token"], reason=None
            )
            _emit("released", job_id=job["id"], lease_token=job["lease_token"])
            return
        queries.fetch_one(
            conn,
            "jobs_start_directory",
            job_id=job["id"],
            lease_token=job["lease_token"],
            directory_id=directory["directory_id"],
        )
        report(conn, queries, job, directory["directory_id"], attempt=directory["attempts"] + 1)
    queries.fetch_one(conn, "jobs_complete", job_id=job["id"], lease_token=job["lease_token"])
    _emit("completed", job_id=job["id"], lease_token=job["lease_token"])


def main(db_url: str, worker_id: str, seed: int) -> None:
    rng = random.Random(seed)
    queries = Queries.load()
    with psycopg.connect(db_url, autocommit=True) as conn:
        while True:
            job = queries.fetch_one(conn, "jobs_next", worker_id=worker_id, lease_seconds=120)
            if job is None:
                row = conn.execute(
                    "select count(*) from jobs where status in ('pending', 'in_progress')"
                ).fetchone()
                if row is not None and row[0] == 0:
                    return
                time.sleep(0.005)
                continue
            _emit("claimed", job_id=job["id"], lease_token=job["lease_token"], tier=job["tier"])
            try:
                _work_on(conn, queries, job, rng)
            except InvalidTransition as error:
                _emit("refused", job_id=job["id"], error=str(error))
                raise


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
