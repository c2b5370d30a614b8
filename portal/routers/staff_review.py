"""The staff review queue under /staff/review: every directory needing review or the
customer's action, oldest first, with what the worker saw and its artifacts, and the four
ways to settle one (confirm live, mark submitted, mark failed, retry). Each action has a
confirm step and goes through the orchestrator's staff API (portal.staff.review), audited
with the staff user's identity. Staff only (StaffViewer), like the rest of /staff.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dbolt.contracts import DirectoryId
from dbolt.sql import NotFound
from portal.dependencies import PortalStateDep, StaffViewer
from portal.staff import review
from portal.staff.orchestrator import InterventionFailed, error_text
from portal.templating import render

router = APIRouter(prefix="/staff", tags=["staff"])

JobId = Annotated[uuid.UUID, Path(description="The job's id")]
Directory = Annotated[DirectoryId, Path(description="The directory's id")]


_DIRECTORY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")  # dbolt.contracts.DirectoryId


def _notice(request: Request) -> dict[str, str] | None:
    """The notice after an action: fixed words chosen by a code in the URL, never the URL's
    text (a link someone sends staff could otherwise put any sentence on this page)."""
    params = request.query_params
    if "error" in params:
        return {"kind": "error", "text": error_text(params["error"])}
    done = params.get("done")
    if done in review.DONE:
        directory = params.get("directory", "")
        who = f"{directory}: " if _DIRECTORY_ID.fullmatch(directory) else ""
        return {"kind": "success", "text": f"{who}{review.DONE[done]}."}
    return None


@router.get("/review")
async def review_queue(
    request: Request, viewer: StaffViewer, state: PortalStateDep, after: str = ""
) -> Response:
    try:
        cursor = review.Cursor.decode(after) if after else None
    except review.BadCursor as error:
        raise HTTPException(422, str(error)) from None
    return render(
        request,
        "staff/review.html",
        section="review",
        notice=_notice(request),
        counts=await review.review_counts(state, viewer),
        first_page=cursor is None,
        **await review.review_page(state, viewer, cursor, limit=review.PAGE_SIZE),
    )


@router.get("/fragments/review-count")
async def review_count_fragment(
    request: Request, viewer: StaffViewer, state: PortalStateDep
) -> Response:
    return render(
        request, "staff/_review_count.html", review=await review.review_counts(state, viewer)
    )


@router.post("/review/{job_id}/{directory_id}/{action}")
async def settle(
    request: Request,
    job_id: JobId,
    directory_id: Directory,
    action: review.ReviewAction,
    viewer: StaffViewer,
    state: PortalStateDep,
    confirmed: Annotated[str | None, Form()] = None,
    listing_url: Annotated[str, Form(max_length=2000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    def back(**params: str) -> Response:
        return RedirectResponse(f"/staff/review?{urlencode(params)}", status_code=303)

    try:
        body = review.request_body(action, job_id, directory_id, listing_url, reason)
    except InterventionFailed as error:
        return back(error=error.code)
    if confirmed != "yes":
        # The confirm step: say exactly what will happen to which directory, then post again.
        async with state.db.as_viewer(viewer) as q:
            job = await q.fetch_one("jobs_get", job_id=job_id)
            directories = await q.fetch_all("job_directories_list", job_id=job_id)
        directory = next((d for d in directories if d["directory_id"] == directory_id), None)
        if job is None or directory is None:
            raise NotFound(f"directory {directory_id} of job {job_id} not found")
        return render(
            request,
            "staff/review_confirm.html",
            section="review",
            action=action,
            label=review.LABELS[action],
            job=job,
            directory=directory,
            listing_url=body.get("listing_url", ""),
            reason=body.get("reason", ""),
        )
    try:
        await review.settle(state, viewer, action, job_id, directory_id, body)
    except InterventionFailed as error:
        return back(error=error.code)
    return back(done=action, directory=directory_id)
