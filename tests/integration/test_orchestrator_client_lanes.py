"""A job's lanes report their attempts at the same moment through one OrchestratorClient.
Each report must be delivered exactly once and each lane must get its own directory's state:
two flushes running together used to send the same head twice and pop two reports, losing
the one behind it (or crash popping an empty outbox)."""

from __future__ import annotations

import asyncio

import psycopg

from dbolt.contracts import AttemptReport, Outcome
from dbolt.orchestrator_client import OrchestratorClient
from dbolt.sql import Queries
from tests.support.orchestrator_harness import WORKER_TOKEN, build, serve
from tests.support.queue_helpers import create_job, enable_test_directories

LANES = 6


def test_lanes_reporting_at_once_each_get_their_own_answer_and_nothing_is_lost(
    db_url: str,
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        directories = enable_test_directories(conn, LANES)
        create_job(conn, Queries.load())

    async def scenario(url: str) -> None:
        client = OrchestratorClient.connect(url, WORKER_TOKEN, "worker-lanes")
        try:
            job = await client.claim()
            assert job is not None
            for directory in directories:
                await client.start_directory(job.job_id, job.lease_token, directory)
            reports = [
                AttemptReport(
                    lease_token=job.lease_token,
                    directory_id=directory,
                    attempt=1,
                    outcome=Outcome.success,
                    confirmed=True,
                )
                for directory in directories
            ]
            states = await asyncio.gather(
                *(client.report_attempt(job.job_id, report) for report in reports)
            )
            assert [state.directory_id if state else None for state in states] == directories
            assert not client.outbox
        finally:
            await client.aclose()

    with serve(build(db_url)) as url:
        asyncio.run(asyncio.wait_for(scenario(url), timeout=60))
    with psycopg.connect(db_url, autocommit=True) as conn:
        recorded = conn.execute(
            "select directory_id, count(*) from job_results group by directory_id"
        ).fetchall()
    assert sorted(recorded) == sorted((directory, 1) for directory in directories)
