"""Leases from Python against the real database: expiry, reaping, stale tokens, and the
race between a worker completing and the reaper taking the job back."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest

from dbolt.sql import LeaseLost, Queries
from tests.support.queue_helpers import create_job, enable_test_directories, report


def _expire(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> None:
    # Test setup only: moving the clock is not something product code can do.
    conn.execute(
        "update jobs set lease_expires_at = now() - interval '1 second' where id = %s", (job_id,)
    )


def _claim(conn: psycopg.Connection[Any], queries: Queries, worker: str = "w1") -> dict[str, Any]:
    job = queries.fetch_one(conn, "jobs_next", worker_id=worker, lease_seconds=60)
    assert job is not None
    return job


def test_expired_lease_is_reaped_and_its_token_refused(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    job = _claim(conn, queries)
    queries.fetch_one(
        conn,
        "jobs_start_directory",
        job_id=job_id,
        lease_token=job["lease_token"],
        directory_id=directories[0],
    )
    _expire(conn, job_id)

    reaped = queries.fetch_all(conn, "jobs_reap_expired", max_lost_leases=3)
    assert [(r["job_id"], r["status"], r["lost_leases"]) for r in reaped] == [
        (job_id, "pending", 1)
    ]
    assert conn.execute(
        "select status from job_directories where job_id = %s order by position", (job_id,)
    ).fetchall() == [("queued",), ("queued",)]

    with pytest.raises(LeaseLost, match="not held"):
        queries.fetch_one(
            conn, "jobs_heartbeat", job_id=job_id, lease_token=job["lease_token"], lease_seconds=60
        )
    # Reports are facts and are recorded late under a lease the job held (pgTAP 051); a
    # lease it never held is refused.
    with pytest.raises(LeaseLost):
        report(conn, queries, job | {"lease_token": uuid.uuid4()}, directories[0])
    with pytest.raises(LeaseLost):
        queries.fetch_one(conn, "jobs_complete", job_id=job_id, lease_token=job["lease_token"])
    assert conn.execute("select count(*) from job_results").fetchone() == (0,)

    # The next claimer gets a new lease on the same job and can finish it.
    second = _claim(conn, queries, "w2")
    assert second["id"] == job_id
    assert second["lease_token"] != job["lease_token"]


def test_a_job_that_keeps_losing_its_lease_fails(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    statuses = []
    for worker in ("w1", "w2"):
        _claim(conn, queries, worker)
        _expire(conn, job_id)
        statuses += [
            r["status"] for r in queries.fetch_all(conn, "jobs_reap_expired", max_lost_leases=2)
        ]
    assert statuses == ["pending", "failed"]
    assert queries.fetch_one(conn, "jobs_next", worker_id="w3", lease_seconds=60) is None


def test_reaper_leaves_live_leases_alone(conn: psycopg.Connection[Any], queries: Queries) -> None:
    enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claim(conn, queries)
    assert queries.fetch_all(conn, "jobs_reap_expired", max_lost_leases=3) == []
    row = queries.fetch_one(
        conn, "jobs_heartbeat", job_id=job["id"], lease_token=job["lease_token"], lease_seconds=90
    )
    assert row is not None
    assert row["lease_expires_at"] > job["lease_expires_at"]


def _finished_directories(conn: psycopg.Connection[Any], queries: Queries) -> dict[str, Any]:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claim(conn, queries)
    report(conn, queries, job, directories[0])
    _expire(conn, job["id"])
    return job


def test_complete_holding_the_row_wins_over_the_reaper(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    job = _finished_directories(conn, queries)
    with psycopg.connect(db_url) as worker_conn:
        # The worker's complete is applied but not yet committed when the reaper runs.
        queries.fetch_one(
            worker_conn, "jobs_complete", job_id=job["id"], lease_token=job["lease_token"]
        )
        assert queries.fetch_all(conn, "jobs_reap_expired", max_lost_leases=3) == []
        worker_conn.commit()
    assert conn.execute("select status, lost_leases from jobs").fetchone() == ("complete", 0)


def test_reaper_holding_the_row_makes_complete_refuse(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    job = _finished_directories(conn, queries)
    outcome: list[BaseException | None] = []
    with psycopg.connect(db_url) as reaper_conn:
        reaped = queries.fetch_all(reaper_conn, "jobs_reap_expired", max_lost_leases=3)
        assert len(reaped) == 1

        def complete() -> None:
            with psycopg.connect(db_url, autocommit=True) as worker_conn:
                try:
                    queries.fetch_one(
                        worker_conn,
                        "jobs_complete",
                        job_id=job["id"],
                        lease_token=job["lease_token"],
                    )
                    outcome.append(None)
                except LeaseLost as error:
                    outcome.append(error)

        worker = threading.Thread(target=complete)
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive(), "complete must wait for the reaper's row lock"
        reaper_conn.commit()
        worker.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], LeaseLost)
    assert conn.execute("select status, lost_leases from jobs").fetchone() == ("pending", 1)


def test_reap_and_complete_racing_never_leave_a_mixed_state(
    db_url: str, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    """Both at once, many times: the job ends complete xor reaped, never both, never neither."""
    directories = enable_test_directories(conn, 1)
    for round_number in range(30):
        create_job(conn, queries, email=f"race-{round_number}@example.com")
        job = _claim(conn, queries)
        report(conn, queries, job, directories[0])
        _expire(conn, job["id"])
        barrier = threading.Barrier(2)
        results: dict[str, Any] = {}

        def complete(
            job: dict[str, Any] = job,
            results: dict[str, Any] = results,
            barrier: threading.Barrier = barrier,
        ) -> None:
            with psycopg.connect(db_url, autocommit=True) as own:
                barrier.wait()
                try:
                    queries.fetch_one(
                        own, "jobs_complete", job_id=job["id"], lease_token=job["lease_token"]
                    )
                    results["complete"] = True
                except LeaseLost:
                    results["complete"] = False

        def reap(results: dict[str, Any] = results, barrier: threading.Barrier = barrier) -> None:
            with psycopg.connect(db_url, autocommit=True) as own:
                barrier.wait()
                results["reaped"] = len(
                    queries.fetch_all(own, "jobs_reap_expired", max_lost_leases=9)
                )

        threads = [threading.Thread(target=complete), threading.Thread(target=reap)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        status = conn.execute("select status from jobs where id = %s", (job["id"],)).fetchone()
        if results["complete"]:
            assert status == ("complete",)
            assert results["reaped"] == 0
        else:
            assert status == ("pending",)
            assert results["reaped"] == 1
            # Finish it properly so the next round's claim gets the new job.
            again = _claim(conn, queries)
            queries.fetch_one(
                conn, "jobs_complete", job_id=again["id"], lease_token=again["lease_token"]
            )
    assert conn.execute("select sum(running) from tiers").fetchone() == (0,)
