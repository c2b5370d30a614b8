"""The staff jobs list and a job's drill-down, read under the staff user's JWT (RLS and the
staff_* SQL functions), as the pages and their fragments show them."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from dbolt import job_cursor
from dbolt.sql import NotFound
from portal.database import QuerySession
from portal.directory_accounts import job_accounts
from portal.staff import artifacts
from portal.staff.directory_view import PAGE_SIZE as DIRECTORY_PAGE_SIZE
from portal.staff.directory_view import STATES, DirectoryView
from portal.staff.job_filters import JobFilters
from portal.staff.orchestrator import error_text
from portal.state import PortalState
from portal.viewer import Viewer

PAGE_SIZE = 25
# The overview's and a fragment's "newest jobs".
RECENT = 10


def _day_after(day: date | None) -> date | None:
    """The exclusive end of a filter's last day; the last representable day has no end."""
    return day + timedelta(days=1) if day is not None and day < date.max else None


async def job_page(
    state: PortalState,
    viewer: Viewer,
    filters: JobFilters,
    limit: int = PAGE_SIZE,
    counted: bool = True,
) -> dict[str, Any]:
    """One page of jobs, newest first, with the cursors of the Older and Newer pages and,
    if `counted` and the jobs counters give it exactly (no filter but the status), how many
    jobs match. Nothing counts the matches otherwise: a year holds a million jobs."""
    page = filters.page
    async with state.db.as_viewer(viewer) as q:
        window = await _window(q, filters, page, limit)
        if page.after is not None and window.newer is None:
            # Nothing newer than this page: it is the first page, shown full.
            window = await _window(q, filters, job_cursor.Page(), limit)
        total = None
        if counted and filters.status_only:
            counts = {
                r["status"]: int(r["jobs"]) for r in await q.fetch_all("jobs_count_by_status")
            }
            total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    return {"jobs": window.rows, "older": window.older, "newer": window.newer, "total": total}


async def _window(
    q: QuerySession, filters: JobFilters, page: job_cursor.Page, limit: int
) -> job_cursor.Window:
    rows = await q.fetch_all(
        "jobs_list",
        status=filters.status,
        tier=filters.tier,
        customer=filters.customer,
        search=filters.search,
        created_after=filters.created_from,
        created_before=_day_after(filters.created_to),
        limit=limit + 1,
        offset=0,
        **page.params(),
    )
    return job_cursor.window(rows, page, limit)


async def job_detail(
    state: PortalState, viewer: Viewer, job_id: uuid.UUID, view: DirectoryView | None = None
) -> dict[str, Any]:
    """A job with one page of its directories (`view`: a state and a page), their attempts
    and audit entries, the job's own audit entries, and the count of directories per state."""
    view = view or DirectoryView()
    async with state.db.as_viewer(viewer) as q:
        job = await q.fetch_one("jobs_get", job_id=job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        counts = {
            row["state"]: int(row["n"])
            for row in await q.fetch_all("job_directories_count_by_state", job_id=job_id)
        }
        directories = await q.fetch_all(
            "job_directories_list_page",
            job_id=job_id,
            state=view.state,
            limit=DIRECTORY_PAGE_SIZE,
            offset=(view.page - 1) * DIRECTORY_PAGE_SIZE,
        )
        shown = [d["directory_id"] for d in directories]
        attempts = await q.fetch_all(
            "job_results_list_for_directories", job_id=job_id, directory_ids=shown
        )
        audit = await q.fetch_all(
            "audit_log_list_for_job_directories", job_id=job_id, directory_ids=shown
        )
        # Every failed directory, whatever page is shown: the retry form offers them all.
        failed = await q.fetch_all(
            "job_directories_list_page", job_id=job_id, state="failed", limit=500, offset=0
        )
        accounts = await job_accounts(q, viewer, job_id, staff=True)
        live_checks = [
            c
            for c in await q.fetch_all("listing_checks_list_for_staff", job_id=job_id)
            if c["directory_id"] in shown
        ]
    for attempt in attempts:
        attempt["artifacts_kept"] = artifacts.kept(
            state.settings.artifacts_dir, attempt["artifacts"]
        )
    status = job["status"]
    matching = counts.get(view.state, 0) if view.state else sum(counts.values())
    return {
        "job": job,
        "view": view,
        "states": [s for s in STATES if counts.get(s) or s == view.state],
        "directories": directories,
        "directories_total": sum(counts.values()),
        "matching": matching,
        "pages": max(1, math.ceil(matching / DIRECTORY_PAGE_SIZE)),
        "first_shown": (view.page - 1) * DIRECTORY_PAGE_SIZE + 1,
        "attempts": attempts,
        "artifacts_retention_days": state.settings.artifacts_retention_days,
        "audit": audit,
        "accounts": accounts,
        "live_checks": live_checks,
        "counts": counts,
        "failed": failed,
        "can": {
            # A waiting job (every directory left parked) is paused and cancelled like any
            # open one (jobs_pause, jobs_cancel).
            "pause": status in ("pending", "in_progress", "waiting"),
            "resume": status == "paused",
            "cancel": status in ("pending", "in_progress", "waiting", "paused"),
            "retry": status != "cancelled" and counts.get("failed", 0) > 0,
        },
    }


def intervention_notice(params: Mapping[str, str]) -> dict[str, str] | None:
    """What the job page says after an intervention (?done=… or ?error=…), if anything."""
    if "error" in params:
        # A code, never the URL's text (portal.staff.orchestrator.ERRORS).
        return {"kind": "error", "text": error_text(params["error"])}
    done = params.get("done")
    texts = {
        "pause": "Job paused. Its worker stops before the next directory.",
        "resume": "Job resumed: it is back in the queue.",
        "cancel": "Job cancelled. Its remaining directories are skipped.",
    }
    if done == "retry":
        count = params.get("retried", "")
        retried = count if re.fullmatch(r"[0-9]{1,6}", count) else "the"
        return {"kind": "success", "text": f"Retry queued for {retried} failed directories."}
    if done in texts:
        return {"kind": "success", "text": texts[done]}
    return None
