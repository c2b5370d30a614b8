"""Live checks with real processes: the orchestrator (LIVE_CHECK_DELAYS in seconds) and a
worker process. A job over the sandbox's plain directory completes; the worker's live-check
loop, beside its job loop, then opens the listing twice on the schedule and the directory
goes live, every check audited as that worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbolt.sql import Queries
from tests.support.e2e_stack import running_stack, wait_for_job, wait_until
from tests.support.queue_helpers import create_job


def _checks(db_url: str, job_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute(
            "select directory_id, seq, result, worker_id from listing_checks"
            " where job_id = %s and checked_at is not null order by seq",
            (job_id,),
        ).fetchall()


def test_the_worker_checks_a_completed_job_s_listing_live_on_the_schedule(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every service of the stack inherits the environment; the orchestrator reads this one.
    monkeypatch.setenv("LIVE_CHECK_DELAYS", "1s,3s")
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories(only={"sandbox-plain"})
        stack.start_worker("worker-live", LIVE_CHECK_INTERVAL_SECONDS="0.5")
        with psycopg.connect(db_url, autocommit=True) as conn:
            job_id = str(create_job(conn, Queries.load(), tier="starter"))
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        assert detail["job"]["status"] == "complete", stack.log("worker-live")[-3000:]

        checks = wait_until(
            lambda: len(rows := _checks(db_url, job_id)) >= 2 and rows,
            timeout=60,
            what="two live checks made by the worker",
        )
        assert checks == [
            ("sandbox-plain", 1, "live", "worker-live"),
            ("sandbox-plain", 2, "live", "worker-live"),
        ], stack.log("worker-live")[-3000:]
        with psycopg.connect(db_url, autocommit=True) as conn:
            status = conn.execute(
                "select status::text from job_directories where job_id = %s", (job_id,)
            ).fetchone()
            actors = conn.execute(
                "select distinct actor from audit_log"
                " where job_id = %s and action = 'listing_check.reported'",
                (job_id,),
            ).fetchall()
        assert status == ("live",)
        assert actors == [("worker:worker-live",)]
