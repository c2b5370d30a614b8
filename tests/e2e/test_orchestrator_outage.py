"""A database outage with real processes: a private PostgreSQL cluster is stopped under a
running orchestrator and started again. During the gap dispatch pauses (503) and reports
are kept by the worker's client; afterwards everything works with no restart and no report
is lost."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dbolt.contracts import AttemptReport, Outcome
from dbolt.orchestrator_client import OrchestratorClient
from dbolt.sql import Queries
from tests.support.orchestrator_harness import STAFF_KEY, WORKER_TOKEN, wait_for
from tests.support.ports import free_port
from tests.support.queue_helpers import create_job, enable_test_directories

ROOT = Path(__file__).resolve().parents[2]


class PrivateCluster:
    """A throwaway cluster of our own, so stopping it disturbs no other test."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.env = os.environ | {"LOCAL_DB_DIR": str(directory), "LOCAL_DB_PORT": str(self.port)}
        self.url = f"postgresql://postgres:postgres@127.0.0.1:{self.port}/postgres"

    def _localdb(self, command: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "devstack.localdb", command],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def up(self) -> None:
        self._localdb("up")

    def down(self) -> None:
        self._localdb("down")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    private = PrivateCluster(tmp_path / "pg")
    private.up()
    try:
        yield private
    finally:
        private.down()
        shutil.rmtree(Path(tmp_path / "pg").resolve(), ignore_errors=True)


@pytest.fixture
def orchestrator(cluster: PrivateCluster) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = os.environ | {
        "ENVIRONMENT": "development",
        "DATABASE_URL": cluster.url,
        "PORT": str(port),
        "WORKER_TOKEN": WORKER_TOKEN,
        "STAFF_API_KEY": STAFF_KEY,
        "STATS_INTERVAL_SECONDS": "0.3",
        "REAPER_INTERVAL_SECONDS": "0.3",
        "DB_TIMEOUT_SECONDS": "1",
        "RETRY_AFTER_SECONDS": "2",
    }
    process = subprocess.Popen([sys.executable, "-m", "orchestrator"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _status(url, "/healthz") == 200, timeout=20)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _status(url: str, path: str) -> int | None:
    try:
        return httpx.get(url + path, timeout=3).status_code
    except httpx.TransportError:
        return None


def _report(lease_token: Any, directory_id: str) -> AttemptReport:
    return AttemptReport(
        lease_token=lease_token,
        directory_id=directory_id,
        attempt=1,
        outcome=Outcome.success,
        confirmed=True,
    )


@pytest.mark.slow
def test_dispatch_pauses_during_an_outage_and_resumes_without_restart(
    cluster: PrivateCluster, orchestrator: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, process = orchestrator
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        directories = enable_test_directories(conn, 3)
        queries = Queries.load()
        create_job(conn, queries)
        create_job(conn, queries)

    async def scenario() -> None:
        client = OrchestratorClient.connect(url, WORKER_TOKEN, "worker-outage")
        try:
            job = await client.claim()
            assert job is not None
            first = await client.report_attempt(
                job.job_id, _report(job.lease_token, directories[0])
            )
            assert first is not None

            await asyncio.to_thread(cluster.down)

            # During the gap: dispatch paused, reports kept, health says why.
            claim = await client.http.post("/jobs-next", json={"worker_id": "worker-outage"})
            assert claim.status_code == 503
            assert claim.headers["Retry-After"] == "2"
            for directory_id in directories[1:]:
                kept = await client.report_attempt(
                    job.job_id, _report(job.lease_token, directory_id)
                )
                assert kept is None
            assert len(client.outbox) == 2
            health = await client.http.get("/healthz")
            assert health.status_code == 503
            assert health.json()["dispatch"] == {
                "paused": True,
                "reason": "database unreachable",
                "throttled_tiers": [],
            }
            metrics = (await client.http.get("/metrics")).text
            assert "directorybolt_dispatch_paused 1.0" in metrics

            await asyncio.to_thread(cluster.up)

            # Afterwards: the same process serves again and the kept reports land.
            await client.flush_until_empty(max_wait=30)
            assert not client.outbox
            done = await client.complete(job.job_id, job.lease_token)
            assert done.status.value == "complete"
            second = await client.claim()
            assert second is not None
            assert second.job_id != job.job_id
        finally:
            await client.aclose()

    asyncio.run(asyncio.wait_for(scenario(), timeout=120))

    assert process.poll() is None, "the orchestrator was never restarted"
    wait_for(lambda: _status(url, "/healthz") == 200, timeout=20)
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        assert conn.execute("select count(*) from job_results").fetchone() == (3,)
        outage = wait_for(
            lambda: conn.execute(
                "select message from alerts"
                " where kind = 'database_outage' and cleared_at is not null"
            ).fetchone()
        )
        assert "Database unreachable for" in outage[0]
