"""The attempt report is written once: its fields are job_results' columns under the same
names, and the one jsonb record the orchestrator sends carries every one of them to its
column."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from dbolt.contracts import AttemptReport, Outcome
from dbolt.sql import Queries
from tests.support.orchestrator_harness import WORKER
from tests.support.queue_helpers import create_job, enable_test_directories
from worker.outcome import AttemptResult

# Columns the database fills itself: a report cannot set them (jobs_report_attempt refuses).
# lease_token and late are set from the lease the report came under, never from the report.
SERVER_COLUMNS = {"id", "job_id", "worker_id", "reported_at", "lease_token", "late"}


def _report_fields() -> set[str]:
    return set(AttemptReport.model_fields) - {"lease_token"}


def test_the_report_fields_are_job_results_columns(conn: psycopg.Connection[Any]) -> None:
    columns = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'public' and table_name = 'job_results'"
        )
    }
    assert _report_fields() == columns - SERVER_COLUMNS


def test_the_workers_result_names_only_report_fields() -> None:
    assert set(AttemptResult(Outcome.success).reported()) <= _report_fields()


def test_every_reported_field_reaches_its_column(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    [directory_id] = enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    job = api.post("/jobs-next", json={"worker_id": "worker-record"}, headers=WORKER).json()
    sent = {
        "directory_id": directory_id,
        "attempt": 1,
        "outcome": "success",
        "confirmed": True,
        "error_code": "slow_form",
        "message": "Thanks, we will review your listing",
        "listing_url": "https://dir.example/listing/7",
        "action_required": None,
        "duration_ms": 4321,
        "captcha_kind": "image",
        "captcha_solved": True,
        "proxy": "proxy-eu-1",
        "artifacts": {"screenshot": "artifacts/attempt-1.png"},
        # Only with outcome parked (tests/integration/test_parking.py sends them).
        "wait_kind": None,
        "wait_seconds": None,
        "resume_phase": None,
    }
    assert set(sent) == _report_fields(), "this test sets every field of the report"
    response = api.post(
        f"/jobs/{job_id}/attempts", json={"lease_token": job["lease_token"], **sent}, headers=WORKER
    )
    assert response.status_code == 200, response.text

    stored = conn.execute(
        "select to_jsonb(r) from job_results r where job_id = %s", (job_id,)
    ).fetchone()
    assert stored is not None
    row: dict[str, Any] = stored[0]
    assert {name: row[name] for name in sent} == sent
    assert row["worker_id"] == "worker-record"
