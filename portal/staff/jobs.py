"""The staff jobs list and a job's drill-down, read under the staff user's JWT (RLS and the
staff_* SQL functions), as the pages and their fragments show them."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from dbolt.sql import NotFound
from portal.directory_accounts import job_accounts
from portal.staff import artifacts
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
    state: PortalState, viewer: Viewer, filters: JobFilters, limit: int = PAGE_SIZE
) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        rows = await q.fetch_all(
            "jobs_list",
            status=filters.status,
            tier=filters.tier,
            customer=filters.customer,
            search=filters.search,
            created_after=filters.created_from,
            created_before=_day_after(filters.created_to),
            limit=limit,
            offset=(filters.page - 1) * limit,
        )
    total = int(rows[0]["total"]) if rows else 0
    return {
        "jobs": rows,
        "total": total,
        "page": filters.page,
        "pages": max(1, math.ceil(total / limit)),
    }


async def job_detail(state: PortalState, viewer: Viewer, job_id: uuid.UUID) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        job = await q.fetch_one("jobs_get", job_id=job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        directories = await q.fetch_all("job_directories_list", job_id=job_id)
        attempts = await q.fetch_all("job_results_list", job_id=job_id)
        audit = await q.fetch_all("audit_log_list_for_job", job_id=job_id)
        accounts = await job_accounts(q, viewer, job_id, staff=True)
        live_checks = await q.fetch_all("listing_checks_list_for_staff", job_id=job_id)
    for attempt in attempts:
        attempt["artifacts_kept"] = artifacts.kept(
            state.settings.artifacts_dir, attempt["artifacts"]
        )
    counts: dict[str, int] = {}
    for directory in directories:
        counts[directory["status"]] = counts.get(directory["status"], 0) + 1
    status = job["status"]
    return {
        "job": job,
        "directories": directories,
        "attempts": attempts,
        "artifacts_retention_days": state.settings.artifacts_retention_days,
        "audit": audit,
        "accounts": accounts,
        "live_checks": live_checks,
        "counts": counts,
        "failed": [d for d in directories if d["status"] == "failed"],
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
