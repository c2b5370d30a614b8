"""The staff API: look, and intervene (retry, pause, resume, cancel). There is deliberately no
way to start or push a job."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator

from dbolt import job_cursor
from dbolt.contracts import (
    ErrorBody,
    JobDetail,
    JobListItem,
    JobPage,
    JobState,
    JobStatus,
    RetryRequest,
    RetryResult,
    StaffReasonRequest,
)
from dbolt.sql import NotFound
from orchestrator.dependencies import StaffActor, State

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["staff"],
    responses={
        401: {"model": ErrorBody, "description": "No bearer token"},
        403: {"model": ErrorBody, "description": "Wrong staff API key"},
        503: {"model": ErrorBody, "description": "Database unreachable"},
    },
)
JobId = Annotated[uuid.UUID, Path(description="The job's id")]


def _checked_cursor(value: str | None) -> str | None:
    if value is not None:
        job_cursor.decode(value, "before")
    return value


# A cursor from a page's `older`; a garbled or forged one is a 422 naming `before`.
Before = Annotated[
    str | None,
    AfterValidator(_checked_cursor),
    Query(description="the `older` cursor of the page before (newest first; none: the newest)"),
]
_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such job"},
    409: {"model": ErrorBody, "description": "The job's state does not allow this"},
}


@router.post("/jobs/retry", response_model=RetryResult, responses=_REFUSED)
async def retry(body: RetryRequest, state: State, actor: StaffActor) -> RetryResult:
    """Re-queue a job's failed directories (all, or the named ones)."""
    row = await state.db.fetch_one(
        "jobs_retry", job_id=body.job_id, directory_ids=body.directory_ids, actor=actor
    )
    assert row is not None
    log.info("retry", extra={"action": "staff.retry", "job_id": str(body.job_id), "actor": actor})
    return RetryResult(job_id=body.job_id, retried=row["retried"])


async def _transition(
    action: Literal["jobs_pause", "jobs_resume", "jobs_cancel"],
    job_id: uuid.UUID,
    state: State,
    actor: str,
    **reason: str,
) -> JobState:
    row = await state.db.fetch_one(action, job_id=job_id, actor=actor, **reason)
    assert row is not None
    log.info(action, extra={"action": f"staff.{action}", "job_id": str(job_id), "actor": actor})
    return JobState(job_id=row["id"], status=row["status"])


@router.post("/jobs/{job_id}/pause", response_model=JobState, responses=_REFUSED)
async def pause(
    job_id: JobId, body: StaffReasonRequest, state: State, actor: StaffActor
) -> JobState:
    """Pause a pending or running job; its worker stops before the next directory. The
    reason is shown to the customer ("Paused by our team: …")."""
    return await _transition("jobs_pause", job_id, state, actor, reason=body.reason)


@router.post("/jobs/{job_id}/resume", response_model=JobState, responses=_REFUSED)
async def resume(job_id: JobId, state: State, actor: StaffActor) -> JobState:
    """Put a paused job back in the queue."""
    return await _transition("jobs_resume", job_id, state, actor)


@router.post("/jobs/{job_id}/cancel", response_model=JobState, responses=_REFUSED)
async def cancel(
    job_id: JobId, body: StaffReasonRequest, state: State, actor: StaffActor
) -> JobState:
    """Cancel a job that is not finished; its remaining directories are skipped. The reason
    is shown to the customer."""
    return await _transition("jobs_cancel", job_id, state, actor, reason=body.reason)


@router.get("/jobs", response_model=JobPage)
async def list_jobs(
    state: State,
    actor: StaffActor,
    status: JobStatus | None = None,
    tier: Annotated[
        Literal["starter", "growth", "professional", "enterprise"] | None, Query()
    ] = None,
    customer: Annotated[
        str | None, Query(max_length=200, description="email or business name contains")
    ] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Before = None,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="older clients; prefer `before`")
    ] = 0,
) -> JobPage:
    """Jobs, newest first, filtered and paginated by the `older` cursor (or an offset)."""
    page = job_cursor.Page(before=job_cursor.decode(before, "before") if before else None)
    rows = await state.db.fetch_all(
        "jobs_list",
        status=status.value if status else None,
        tier=tier,
        customer=customer.replace("\x00", "") if customer else None,
        created_after=created_after,
        created_before=created_before,
        search=None,
        limit=limit + 1,
        offset=offset,
        **page.params(),
    )
    window = job_cursor.window(rows, page, limit)
    total = None
    if not (tier or customer or created_after or created_before):
        # The jobs counters (exact), through the service role's queue_stats().
        row = await state.db.fetch_one("queue_stats")
        counts = {name: int(n) for name, n in row["stats"]["jobs"].items()} if row else {}
        total = counts.get(status.value, 0) if status else sum(counts.values())
    return JobPage(
        items=[JobListItem.model_validate(row) for row in window.rows],
        total=total,
        limit=limit,
        offset=offset,
        older=window.older,
    )


@router.get("/jobs/{job_id}", response_model=JobDetail, responses={404: _REFUSED[404]})
async def get_job(job_id: JobId, state: State, actor: StaffActor) -> JobDetail:
    """One job with every directory, every attempt and its audit trail."""
    job = await state.db.fetch_one("jobs_get", job_id=job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return JobDetail(
        job=job,
        directories=await state.db.fetch_all("job_directories_list", job_id=job_id),
        attempts=await state.db.fetch_all("job_results_list", job_id=job_id),
        audit=await state.db.fetch_all("audit_log_list_for_job", job_id=job_id),
    )
