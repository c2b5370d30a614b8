"""Attempt reports from Python: idempotent per (job, directory, attempt), even when the same
report arrives twice at the same moment, and after the lease has moved on."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from dbolt.sql import InvalidArgument, InvalidTransition, Queries
from tests.support.queue_helpers import create_job, enable_test_directories, report


def _claimed(conn: psycopg.Connection[Any], queries: Queries) -> dict[str, Any]:
    job = queries.fetch_one(conn, "jobs_next", worker_id="w1", lease_seconds=60)
    assert job is not None
    return job


def test_resent_report_is_acknowledged_and_applied_once(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claimed(conn, queries)
    first = report(conn, queries, job, directories[0], listing_url="https://dir.example/l/1")
    again = report(conn, queries, job, directories[0], listing_url="https://dir.example/l/1")
    assert first is not None
    assert again is not None
    assert first["status"] == again["status"] == "submitted"
    assert conn.execute("select count(*) from job_results").fetchone() == (1,)
    assert conn.execute(
        "select count(*) from audit_log where action = 'directory.attempt_reported'"
    ).fetchone() == (1,)


def test_same_report_sent_twice_at_once_is_applied_once(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claimed(conn, queries)
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        with psycopg.connect(db_url, autocommit=True) as own:
            barrier.wait()
            try:
                answers.append(report(own, queries, job, directories[0])["status"])  # type: ignore[index]
            except Exception as error:
                answers.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert answers == ["submitted", "submitted"]
    assert conn.execute("select count(*) from job_results").fetchone() == (1,)


def test_resent_report_is_acknowledged_after_the_job_completed(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claimed(conn, queries)
    report(conn, queries, job, directories[0])
    queries.fetch_one(conn, "jobs_complete", job_id=job["id"], lease_token=job["lease_token"])
    resent = report(conn, queries, job, directories[0])
    assert resent is not None
    assert resent["status"] == "submitted"


def test_contradicting_report_and_a_second_submission_are_refused(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claimed(conn, queries)
    report(conn, queries, job, directories[0])
    with pytest.raises(InvalidTransition, match="already reported as success"):
        report(
            conn, queries, job, directories[0], outcome="permanent_error", error_code="site_down"
        )
    with pytest.raises(InvalidTransition, match="is submitted and takes no more attempts"):
        report(conn, queries, job, directories[0], attempt=2)


def test_transient_errors_retry_three_times_then_fail(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claimed(conn, queries)
    statuses = [
        report(
            conn,
            queries,
            job,
            directories[0],
            attempt=n,
            outcome="transient_error",
            error_code="timeout",
        )["status"]  # type: ignore[index]
        for n in (1, 2, 3)
    ]
    assert statuses == ["queued", "queued", "failed"]
    with pytest.raises(InvalidArgument, match="error_code is required"):
        report(conn, queries, job, directories[0], attempt=4, outcome="permanent_error")
