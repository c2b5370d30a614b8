"""The worker API: claim, heartbeat, report, complete, release. Workers hold no database
credentials; this is their only way to change anything."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status

from dbolt.contracts import (
    Assignment,
    AttemptReport,
    ClaimRequest,
    DirectoryId,
    DirectoryState,
    DirectoryTask,
    ErrorBody,
    JobState,
    LeaseExtended,
    LeaseRequest,
    ReleaseRequest,
    SessionSave,
    SubmitFence,
)
from dbolt.sql import DatabaseUnavailable
from orchestrator.dependencies import WORKER_RESPONSES, State, WorkerAuth
from orchestrator.json_body import model_response
from orchestrator.sessions import SessionTooLarge, resume_of, seal_session

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["worker"],
    dependencies=[WorkerAuth],
    responses=WORKER_RESPONSES,
)
_LEASE_LOST: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The lease is not held (stale token)"}
}
JobId = Annotated[uuid.UUID, Path(description="The job's id")]


def _directory_state(row: dict[str, Any]) -> DirectoryState:
    return DirectoryState(
        directory_id=row["directory_id"],
        status=row["status"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
    )


@router.post(
    "/jobs-next",
    response_model=Assignment,
    responses={204: {"description": "Nothing dispatchable now"}},
)
async def jobs_next(body: ClaimRequest, state: State) -> Response:
    """Claim the oldest dispatchable job (FIFO within tier caps) with a fresh lease."""
    with state.metrics.jobs_next_seconds.time():
        try:
            row = await state.db.fetch_one(
                "jobs_next_assignment",
                worker_id=body.worker_id,
                lease_seconds=state.settings.lease_seconds,
            )
        except DatabaseUnavailable:
            state.metrics.dispatch_paused.set(1)
            raise
        state.metrics.dispatch_paused.set(0)
    if row is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    log.info(
        "job claimed",
        extra={"action": "job.claimed", "job_id": str(row["id"]), "worker_id": body.worker_id},
    )
    local_part = row["mailbox_local_part"]
    assignment = Assignment(
        job_id=row["id"],
        tier=row["tier"],
        lease_token=row["lease_token"],
        lease_expires_at=row["lease_expires_at"],
        business=row["business_snapshot"],
        directories_total=row["directories_total"],
        directories=[_task(state, row["id"], d) for d in row["directories"]],
        mailbox=state.settings.mailbox_address(local_part) if local_part else None,
    )
    return model_response(assignment)


def _task(state: State, job_id: uuid.UUID, directory: dict[str, Any]) -> DirectoryTask:
    """A directory to do; one that parked in this job resumes where it stopped (its session
    opened with the vault here: the database only holds it sealed)."""
    raw_resume = directory.pop("resume", None)
    task = DirectoryTask.model_validate(directory)
    task.resume = resume_of(state.vault, job_id, task.directory_id, raw_resume)
    return task


@router.post("/jobs/{job_id}/heartbeat", response_model=LeaseExtended, responses=_LEASE_LOST)
async def heartbeat(job_id: JobId, body: LeaseRequest, state: State) -> Response:
    """Extend the lease; refused (409) if the token is no longer the job's lease."""
    row = await state.db.fetch_one(
        "jobs_heartbeat",
        job_id=job_id,
        lease_token=body.lease_token,
        lease_seconds=state.settings.lease_seconds,
    )
    assert row is not None
    return model_response(LeaseExtended(lease_expires_at=row["lease_expires_at"]))


@router.post(
    "/jobs/{job_id}/directories/{directory_id}/start",
    response_model=DirectoryState,
    responses=_LEASE_LOST,
)
async def start_directory(
    job_id: JobId, directory_id: Annotated[DirectoryId, Path()], body: LeaseRequest, state: State
) -> DirectoryState:
    """Mark a directory in progress (so progress shows it, and a lost lease re-queues it)."""
    row = await state.db.fetch_one(
        "jobs_start_directory",
        job_id=job_id,
        lease_token=body.lease_token,
        directory_id=directory_id,
    )
    assert row is not None
    return _directory_state(row)


@router.post(
    "/jobs/{job_id}/directories/{directory_id}/submitting",
    response_model=DirectoryState,
    responses={
        409: {
            "model": ErrorBody,
            "description": "The lease is lost or the directory moved on: do not submit",
        }
    },
)
async def fence_submit(
    job_id: JobId, directory_id: Annotated[DirectoryId, Path()], body: SubmitFence, state: State
) -> DirectoryState:
    """Record that this attempt's final submit is about to be sent (the `submitting` fence).

    Only a 200 allows the click: a directory fenced but never reported is held for review
    rather than submitted again."""
    row = await state.db.fetch_one(
        "jobs_fence_submit",
        job_id=job_id,
        lease_token=body.lease_token,
        directory_id=directory_id,
        attempt=body.attempt,
    )
    assert row is not None
    log.info(
        "submitting",
        extra={
            "action": "directory.submitting",
            "job_id": str(job_id),
            "directory_id": directory_id,
            "attempt": body.attempt,
        },
    )
    return _directory_state(row)


@router.post(
    "/jobs/{job_id}/directories/{directory_id}/session",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **_LEASE_LOST,
        413: {"model": ErrorBody, "description": "The storage state is too large"},
    },
)
async def save_session(
    job_id: JobId, directory_id: Annotated[DirectoryId, Path()], body: SessionSave, state: State
) -> Response:
    """Keep a directory's browser session before it parks (under the lease, while the
    directory is worked), sealed with the vault; the worker that resumes it gets it back."""
    try:
        sealed = seal_session(state.vault, job_id, directory_id, body.storage_state)
    except SessionTooLarge as error:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(error)) from None
    await state.db.fetch_one(
        "jobs_save_session",
        job_id=job_id,
        lease_token=body.lease_token,
        directory_id=directory_id,
        key_id=sealed.key_id,
        ciphertext=sealed.ciphertext,
    )
    # Never the storage state itself: it holds the account's live cookies.
    log.info(
        "session saved",
        extra={
            "action": "directory.session_saved",
            "job_id": str(job_id),
            "directory_id": directory_id,
            "bytes": len(sealed.ciphertext),
        },
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/jobs/{job_id}/attempts", response_model=DirectoryState, responses=_LEASE_LOST)
async def report_attempt(job_id: JobId, body: AttemptReport, state: State) -> Response:
    """Record one attempt. Idempotent per (job, directory, attempt): resend freely. A report
    whose lease was lost meanwhile is still recorded (late) if the lease was this job's."""
    with state.metrics.attempt_report_seconds.time():
        row = await state.db.fetch_one(
            "jobs_report_attempt",
            job_id=job_id,
            lease_token=body.lease_token,
            report=body.record(),
        )
    assert row is not None
    return model_response(_directory_state(row))


@router.post("/jobs/{job_id}/complete", response_model=JobState, responses=_LEASE_LOST)
async def complete(job_id: JobId, body: LeaseRequest, state: State) -> Response:
    """Finish the job once no directory is queued or in progress. With parked directories
    left it is `waiting` instead (no lease held; woken by their mail or their time), or
    `pending` again when one is already due."""
    row = await state.db.fetch_one("jobs_complete", job_id=job_id, lease_token=body.lease_token)
    assert row is not None
    if row["status"] == "complete":
        log.info("job completed", extra={"action": "job.completed", "job_id": str(job_id)})
    else:
        log.info(
            "job waiting",
            extra={
                "action": "job.parked",
                "job_id": str(job_id),
                "status": row["status"],
                "wake_at": row["wake_at"].isoformat() if row["wake_at"] else None,
            },
        )
    return model_response(JobState(job_id=row["id"], status=row["status"]))


@router.post("/jobs/{job_id}/release", response_model=JobState, responses=_LEASE_LOST)
async def release(job_id: JobId, body: ReleaseRequest, state: State) -> JobState:
    """Give the job back to the queue (e.g. on shutdown), saying why."""
    row = await state.db.fetch_one(
        "jobs_release", job_id=job_id, lease_token=body.lease_token, reason=body.reason
    )
    assert row is not None
    log.info(
        "job released",
        extra={"action": "job.released", "job_id": str(job_id), "reason": body.reason},
    )
    return JobState(job_id=row["id"], status=row["status"])
