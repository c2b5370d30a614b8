"""The staff API for the review queue: settle one directory of a job that needs review (no
confirmation was seen) or the customer's action. Each call is one guarded SQL transition,
audited with the acting staff member (`X-Actor`); retrying such a directory is `POST
/jobs/retry` naming it."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path

from dbolt.contracts import (
    ConfirmLiveRequest,
    DirectoryId,
    DirectoryState,
    ErrorBody,
    MarkFailedRequest,
    MarkSubmittedRequest,
)
from orchestrator.dependencies import StaffActor, State

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/jobs/{job_id}/directories/{directory_id}",
    tags=["staff"],
    responses={
        401: {"model": ErrorBody, "description": "No bearer token"},
        403: {"model": ErrorBody, "description": "Wrong staff API key"},
        404: {"model": ErrorBody, "description": "No such job, or the directory is not in it"},
        409: {"model": ErrorBody, "description": "The directory's state does not allow this"},
        422: {"model": ErrorBody, "description": "A field is missing or invalid"},
        503: {"model": ErrorBody, "description": "Database unreachable"},
    },
)
JobId = Annotated[uuid.UUID, Path(description="The job's id")]
Directory = Annotated[DirectoryId, Path(description="The directory's id")]


async def _settle(
    state: State, query: str, actor: str, job_id: uuid.UUID, directory_id: str, **args: Any
) -> DirectoryState:
    row = await state.db.fetch_one(
        query, job_id=job_id, directory_id=directory_id, actor=actor, **args
    )
    assert row is not None
    log.info(
        query,
        extra={
            "action": f"staff.{query}",
            "job_id": str(job_id),
            "directory_id": directory_id,
            "actor": actor,
        },
    )
    return DirectoryState.model_validate(row)


@router.post("/confirm-live", response_model=DirectoryState)
async def confirm_live(
    job_id: JobId,
    directory_id: Directory,
    body: ConfirmLiveRequest,
    state: State,
    actor: StaffActor,
) -> DirectoryState:
    """The listing was found on the directory: submitted or needs_review → live."""
    return await _settle(
        state, "jobs_confirm_live", actor, job_id, directory_id, listing_url=str(body.listing_url)
    )


@router.post("/mark-submitted", response_model=DirectoryState)
async def mark_submitted(
    job_id: JobId,
    directory_id: Directory,
    body: MarkSubmittedRequest,
    state: State,
    actor: StaffActor,
) -> DirectoryState:
    """The submission went through (e.g. awaiting the site's moderation): needs_review or
    needs_action → submitted, never to be submitted again."""
    listing_url = str(body.listing_url) if body.listing_url else None
    return await _settle(
        state, "jobs_mark_submitted", actor, job_id, directory_id, listing_url=listing_url
    )


@router.post("/mark-failed", response_model=DirectoryState)
async def mark_failed(
    job_id: JobId, directory_id: Directory, body: MarkFailedRequest, state: State, actor: StaffActor
) -> DirectoryState:
    """The directory did not take the business: needs_review or needs_action → failed, with
    the reason (for staff; the customer reads plain words)."""
    return await _settle(state, "jobs_mark_failed", actor, job_id, directory_id, reason=body.reason)
