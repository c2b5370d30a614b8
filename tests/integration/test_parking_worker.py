"""The worker's side of parking, through a real orchestrator: a directory found listed already
is done; one that parks is done for this run; and the job is left `waiting`, not complete,
with no lease held. The engine is a stand-in (the phases are the recipe runner's): what is
tested is the job runner with the queue."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from pydantic import SecretStr

from dbolt.contracts import Outcome, Phase, WaitKind
from dbolt.orchestrator_client import OrchestratorClient
from dbolt.sql import Queries
from tests.support.orchestrator_harness import WORKER_TOKEN, build, serve
from tests.support.queue_helpers import create_job, enable_test_directories
from worker.job_runner import JobRunner
from worker.outcome import AttemptResult
from worker.settings import WorkerSettings


class StandInEngine:
    def __init__(self, results: dict[str, AttemptResult]) -> None:
        self.results = results
        self.seen: list[str] = []

    async def attempt(self, directory: dict[str, Any], *args: Any, **kwargs: Any) -> AttemptResult:
        self.seen.append(directory["directory_id"])
        return self.results[directory["directory_id"]]


def test_a_parked_directory_ends_the_run_and_leaves_the_job_waiting(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    listed, parked = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    engine = StandInEngine(
        {
            listed: AttemptResult(
                Outcome.already_listed, listing_url="https://dir.example/listing/ours"
            ),
            # What the phase runner reports for a verify_email with no mail yet.
            parked: AttemptResult(
                Outcome.parked,
                message="signed up; waiting for the confirmation email",
                wait_kind=WaitKind.email,
                wait_seconds=3600,
                resume_phase=Phase.verify_email,
            ),
        }
    )

    async def work(url: str) -> str:
        client = OrchestratorClient.connect(url, WORKER_TOKEN, "worker-park")
        try:
            assignment = await client.claim()
            assert assignment is not None
            assert assignment.job_id == job_id
            settings = WorkerSettings(
                orchestrator_url=url, worker_token=SecretStr(WORKER_TOKEN), contexts=1
            )
            runner = JobRunner(assignment, client, engine, None, settings)  # type: ignore[arg-type]
            return await runner.run()
        finally:
            await client.aclose()

    with serve(build(db_url)) as url:
        ended = asyncio.run(work(url))
    assert ended == "waiting"
    assert sorted(engine.seen) == [listed, parked]
    rows = dict(
        conn.execute(
            "select directory_id, status::text from job_directories where job_id = %s", (job_id,)
        ).fetchall()
    )
    assert rows == {listed: "already_listed", parked: "waiting"}
    job = conn.execute(
        "select status::text, lease_token, wake_at is not null from jobs where id = %s", (job_id,)
    ).fetchone()
    assert job == ("waiting", None, True)
