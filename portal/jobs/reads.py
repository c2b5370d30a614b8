"""The customer's job, its directories and report, read under their JWT: another customer's
job is simply not there (NotFound, a 404 — never a 403)."""

from __future__ import annotations

import uuid
from typing import Any

from dbolt.package_promise import Promise
from dbolt.refusals import directory_reason
from dbolt.sql import NotFound
from portal.reports.live_checks import with_live_checks
from portal.reports.progress import JobProgress
from portal.state import PortalState
from portal.viewer import Viewer

NOT_YOURS = "There is nothing here, or it is not yours to see."


def job_uuid(job_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(job_id)
    except ValueError:
        raise NotFound(NOT_YOURS) from None


async def read_job(
    state: PortalState, viewer: Viewer, job_id: uuid.UUID, *, with_report: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """The job, its directories and (if asked) its report, in one snapshot under the JWT.

    The job carries its `promise` (what it delivered against its package) and each directory
    its `fate` (what became of it if it was not submitted), in dbolt/package_promise.py's words.
    """
    async with state.db.as_viewer(viewer) as q:
        job = await q.fetch_one("jobs_get_own", job_id=job_id, user_id=viewer.user_id)
        if job is None:
            raise NotFound(NOT_YOURS)
        directories = await q.fetch_all(
            "job_directories_list_own", job_id=job_id, user_id=viewer.user_id
        )
        promise_row = await q.fetch_one("jobs_get_promise", job_id=job_id)
        if promise_row is not None:
            promise = Promise.from_row(promise_row)
            job = {**job, "promise": promise}
            directories = [
                {**row, "fate": promise.fate(row, str(job["status"]))} for row in directories
            ]
        checks = await q.fetch_all("listing_checks_list_own", job_id=job_id, user_id=viewer.user_id)
        job, directories = with_live_checks(job, directories, checks)
        report = None
        if with_report:
            report = await q.fetch_one("job_reports_get_own", job_id=job_id, user_id=viewer.user_id)
    return job, [_for_the_customer(row, job) for row in directories], report


def _for_the_customer(row: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """The row with its plain reason. The attempt's raw message (driver errors, selectors,
    proxy addresses) is staff detail the customer's JWT cannot even read (migration
    20261205000420), so no customer page, CSV or PDF can print it."""
    return {**row, "reason": directory_reason(row, job)}


def report_url(progress: JobProgress) -> str | None:
    """Where the job's report is, once the job is complete and the report written."""
    if progress.status == "complete" and progress.job.get("has_report"):
        return f"/jobs/{progress.job['id']}/report"
    return None
