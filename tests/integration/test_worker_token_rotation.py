"""Rotating WORKER_TOKEN (docs/deploy.md): for a moment the orchestrator and a worker may
hold different tokens. The attempt the worker just made happened — the site may already list
the business — so its report must be kept and resent once the tokens agree, never dropped
(a dropped report would leave the directory to be submitted again)."""

from __future__ import annotations

import asyncio

import psycopg

from dbolt.contracts import AttemptReport, Outcome
from dbolt.orchestrator_client import OrchestratorClient
from dbolt.sql import Queries
from tests.support.orchestrator_harness import WORKER_TOKEN, build, serve
from tests.support.queue_helpers import create_job, enable_test_directories


def test_a_report_refused_for_its_token_is_kept_and_delivered_once_the_tokens_agree(
    db_url: str,
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        directories = enable_test_directories(conn, 2)
        create_job(conn, Queries.load())

    async def scenario(url: str) -> None:
        client = OrchestratorClient.connect(url, WORKER_TOKEN, "worker-rotating")
        try:
            job = await client.claim()
            assert job is not None
            # The orchestrator has the new token; this worker still the old one.
            client.http.headers["Authorization"] = "Bearer the-old-token"
            report = AttemptReport(
                lease_token=job.lease_token,
                directory_id=directories[0],
                attempt=1,
                outcome=Outcome.success,
                confirmed=True,
            )
            assert await client.report_attempt(job.job_id, report) is None
            assert len(client.outbox) == 1
            # The worker is restarted with the new token (the pod keeps its outbox until
            # it exits; here the same client gets it).
            client.http.headers["Authorization"] = f"Bearer {WORKER_TOKEN}"
            await client.flush_until_empty(max_wait=10)
            assert not client.outbox
        finally:
            await client.aclose()

    with serve(build(db_url)) as url:
        asyncio.run(asyncio.wait_for(scenario(url), timeout=60))
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert conn.execute("select count(*) from job_results").fetchone() == (1,)
