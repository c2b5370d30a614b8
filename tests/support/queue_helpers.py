"""Small builders for queue tests: enabled test directories and enqueued jobs."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dbolt.directories import sync_directories
from dbolt.sql import Queries


def enable_test_directories(conn: psycopg.Connection[Any], count: int) -> list[str]:
    ids = [f"test-dir-{index:02d}" for index in range(1, count + 1)]
    entries = [
        {
            "id": directory_id,
            "name": f"Test directory {directory_id}",
            "homepage": f"http://127.0.0.1:9/{directory_id}",
            "tier": "starter",
            "priority": index,
            "mode": "auto",
            "enabled": True,
        }
        for index, directory_id in enumerate(ids)
    ]
    sync_directories(conn, entries)
    return ids


def set_tier_caps(conn: psycopg.Connection[Any], caps: dict[str, int]) -> None:
    for tier, cap in caps.items():
        conn.execute("update tiers set max_running = %s where name = %s", (cap, tier))


def create_job(
    conn: psycopg.Connection[Any], queries: Queries, tier: str = "starter", email: str = ""
) -> uuid.UUID:
    email = email or f"customer-{uuid.uuid4().hex[:12]}@example.com"
    order = conn.execute("select dev.create_paid_order(%s, %s)", (email, tier)).fetchone()
    assert order is not None
    job = queries.fetch_one(conn, "jobs_enqueue", order_id=order[0])
    assert job is not None
    job_id: uuid.UUID = job["id"]
    return job_id


def report(
    conn: psycopg.Connection[Any],
    queries: Queries,
    job: dict[str, Any],
    directory_id: str,
    attempt: int = 1,
    outcome: str = "success",
    **extra: Any,
) -> dict[str, Any] | None:
    """Report an attempt as the orchestrator would: `extra` sets any other field of the
    report (dbolt.contracts.AttemptReport's names); the ones left out are null."""
    attempt_report: dict[str, Any] = {
        "directory_id": directory_id,
        "attempt": attempt,
        "outcome": outcome,
        "confirmed": outcome == "success",
        "duration_ms": 1200,
        **extra,
    }
    return queries.fetch_one(
        conn,
        "jobs_report_attempt",
        job_id=job["id"],
        lease_token=job["lease_token"],
        report=Jsonb(attempt_report),
    )
