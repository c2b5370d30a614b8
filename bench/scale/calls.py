"""The calls measured: each the same named queries, in the same order and under the same
role, as the page or endpoint behind it (portal/staff/*.py, portal/jobs/reads.py,
orchestrator/loops.py), run on one open connection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from dbolt.sql.gateway import Row

STALE_WORKER_SECONDS = 120
DEGRADATION_WINDOW_SECONDS = 900
HOUR, DAY = 3600, 86400
STAFF_PAGE_SIZE, RECENT, DIRECTORY_PAGE_SIZE = 25, 10, 25


@dataclass(frozen=True)
class Target:
    """What the calls read in one database: the viewer's job and who is looking."""

    queries: Queries
    job_id: uuid.UUID
    customer_user_id: uuid.UUID


Conn = psycopg.Connection[Any]


def staff_claims() -> dict[str, Any]:
    return {
        "sub": str(uuid.UUID(int=1)),
        "role": "authenticated",
        "aud": "authenticated",
        "app_metadata": {"provider": "email", "role": "staff"},
    }


def customer_claims(user_id: uuid.UUID) -> dict[str, Any]:
    return {
        "sub": str(user_id),
        "role": "authenticated",
        "aud": "authenticated",
        "app_metadata": {"provider": "email"},
    }


@contextmanager
def as_role(conn: Conn, role: str, claims: dict[str, Any]) -> Iterator[None]:
    """As portal/database.py's as_viewer: a transaction with the role and claims set locally."""
    with conn.transaction():
        conn.execute(
            "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
            (role, json.dumps(claims)),
        )
        yield


def _staff(conn: Conn) -> Any:
    return as_role(conn, "dbolt_staff", staff_claims())


def _jobs_list(q: Queries, conn: Conn, limit: int) -> list[Row]:
    """portal/staff/jobs.py job_page's first page: one row more than shown says whether there
    is an older page."""
    return q.fetch_all(
        conn,
        "jobs_list",
        status=None,
        tier=None,
        customer=None,
        search=None,
        created_after=None,
        created_before=None,
        limit=limit + 1,
        offset=0,
        newer=False,
        before_at=None,
        before_id=None,
        after_at=None,
        after_id=None,
    )


def metrics(t: Target, conn: Conn) -> None:
    """The orchestrator's stats refresh behind /metrics (orchestrator/loops.py)."""
    with conn.transaction():
        t.queries.fetch_one(
            conn, "queue_stats_with_health", window_seconds=DEGRADATION_WINDOW_SECONDS
        )


def healthz(t: Target, conn: Conn) -> None:
    with conn.transaction():
        t.queries.fetch_one(conn, "database_ping")


def queue_stats(t: Target, conn: Conn) -> None:
    with conn.transaction():
        t.queries.fetch_one(conn, "queue_stats")


def staff_overview(t: Target, conn: Conn) -> None:
    """portal/routers/staff.py overview: status, alerts, review counts, newest jobs, refunds."""
    q = t.queries
    with _staff(conn):
        q.fetch_one(conn, "queue_status", stale_seconds=STALE_WORKER_SECONDS)
    with _staff(conn):
        q.fetch_all(conn, "alerts_list_recent", limit=50)
    with _staff(conn):
        q.fetch_one(conn, "job_directories_count_for_review")
    with _staff(conn):
        _jobs_list(q, conn, RECENT)
    with _staff(conn):
        q.fetch_all(conn, "shortfall_refunds_list_recent", limit=20)


def jobs_list(t: Target, conn: Conn) -> None:
    """The jobs page, unfiltered: a page and the count of every job (the jobs counters)."""
    with _staff(conn):
        _jobs_list(t.queries, conn, STAFF_PAGE_SIZE)
        t.queries.fetch_all(conn, "jobs_count_by_status")


def drill_down(t: Target, conn: Conn) -> None:
    """portal/staff/jobs.py job_detail, first page of directories."""
    q, job_id = t.queries, t.job_id
    with _staff(conn):
        q.fetch_one(conn, "jobs_get", job_id=job_id)
        q.fetch_all(conn, "job_directories_count_by_state", job_id=job_id)
        directories = q.fetch_all(
            conn,
            "job_directories_list_page",
            job_id=job_id,
            state=None,
            limit=DIRECTORY_PAGE_SIZE,
            offset=0,
        )
        shown = [d["directory_id"] for d in directories]
        q.fetch_all(conn, "job_results_list_for_directories", job_id=job_id, directory_ids=shown)
        q.fetch_all(conn, "audit_log_list_for_job_directories", job_id=job_id, directory_ids=shown)
        q.fetch_all(
            conn, "job_directories_list_page", job_id=job_id, state="failed", limit=500, offset=0
        )
        q.fetch_all(conn, "directory_accounts_list", job_id=job_id)
        q.fetch_all(conn, "listing_checks_list_for_staff", job_id=job_id)


def _charts(t: Target, conn: Conn, seconds: int, bucket_seconds: int) -> None:
    """portal/staff/charts.py chart_data."""
    with _staff(conn):
        t.queries.fetch_all(
            conn, "metrics_chart_series", window_seconds=seconds, bucket_seconds=bucket_seconds
        )
        t.queries.fetch_all(conn, "directories_list_success_rates", window_seconds=seconds)


def charts_24h(t: Target, conn: Conn) -> None:
    _charts(t, conn, DAY, HOUR)


def charts_30d(t: Target, conn: Conn) -> None:
    _charts(t, conn, 30 * DAY, DAY)


def _customer_job(t: Target, conn: Conn, with_report: bool) -> None:
    """portal/jobs/reads.py read_job, under the customer's JWT."""
    q, job_id, user_id = t.queries, t.job_id, t.customer_user_id
    with as_role(conn, "authenticated", customer_claims(user_id)):
        q.fetch_one(conn, "jobs_get_own", job_id=job_id, user_id=user_id)
        q.fetch_all(conn, "job_directories_list_own", job_id=job_id, user_id=user_id)
        q.fetch_one(conn, "jobs_get_promise", job_id=job_id)
        q.fetch_all(conn, "listing_checks_list_own", job_id=job_id, user_id=user_id)
        if with_report:
            q.fetch_one(conn, "job_reports_get_own", job_id=job_id, user_id=user_id)


def customer_job(t: Target, conn: Conn) -> None:
    _customer_job(t, conn, with_report=False)


def customer_report(t: Target, conn: Conn) -> None:
    _customer_job(t, conn, with_report=True)


Call = Callable[[Target, Conn], None]

# Reads: each can run any number of times and leaves the database as it found it.
READS: dict[str, Call] = {
    "/metrics (queue_stats_with_health)": metrics,
    "/healthz (database_ping)": healthz,
    "queue_stats": queue_stats,
    "staff overview": staff_overview,
    "staff jobs list": jobs_list,
    "staff job drill-down": drill_down,
    "charts 24 h": charts_24h,
    "charts 30 d": charts_30d,
    "customer job page": customer_job,
    "customer report": customer_report,
}


@dataclass(frozen=True)
class Claim:
    job_id: uuid.UUID
    lease_token: uuid.UUID
    directory_id: str


def jobs_next(t: Target, conn: Conn) -> Claim:
    """One claim, as the worker's loop makes it; the lease comes back for the report."""
    with conn.transaction():
        job = t.queries.fetch_one(conn, "jobs_next", worker_id="scale-worker", lease_seconds=600)
    assert job is not None, "the bench enqueues a pending job for every claim"
    row = conn.execute(
        "select directory_id from job_directories where job_id = %s and status = 'queued'"
        " order by position limit 1",
        (job["id"],),
    ).fetchone()
    assert row is not None
    return Claim(job["id"], job["lease_token"], row[0])


def jobs_report_attempt(t: Target, conn: Conn, claim: Claim) -> None:
    report = {
        "directory_id": claim.directory_id,
        "attempt": 1,
        "outcome": "success",
        "confirmed": True,
    }
    with conn.transaction():
        t.queries.fetch_one(
            conn,
            "jobs_report_attempt",
            job_id=claim.job_id,
            lease_token=claim.lease_token,
            report=Jsonb(report),
        )
