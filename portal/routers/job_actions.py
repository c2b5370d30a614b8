"""What a customer does on their job page besides reading it.

POST /jobs/{id}/directories/{directory_id}/done   "I've done it" on a directory that needed
    the customer's action: it goes to our team to check (needs_review), and the reminder
    emails about it stop (they only cover directories still needing action).

The call runs under the customer's JWT and customers_mark_action_done checks the job is
theirs: another customer's job is a 404, exactly like a job that does not exist. Cross-site
posts are refused by OriginGuardMiddleware (and the SameSite=Lax session cookie), as for
every portal form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dbolt.contracts import DirectoryId
from dbolt.sql import InvalidTransition, NotFound
from portal.dependencies import PortalStateDep, SignedIn
from portal.jobs.reads import NOT_YOURS, job_uuid

router = APIRouter(tags=["customer"])


@router.post("/jobs/{job_id}/directories/{directory_id}/done")
async def action_done(
    job_id: str,
    directory_id: Annotated[DirectoryId, Path()],
    viewer: SignedIn,
    state: PortalStateDep,
) -> Response:
    key = job_uuid(job_id)
    try:
        async with state.db.as_viewer(viewer) as q:
            await q.fetch_one("customers_mark_action_done", job_id=key, directory_id=directory_id)
    except NotFound:
        raise NotFound(NOT_YOURS) from None
    except InvalidTransition:
        # Pressed twice, or staff settled it meanwhile: nothing to do, show the page as it is.
        return RedirectResponse(f"/jobs/{key}?action=settled#dir-{directory_id}", status_code=303)
    return RedirectResponse(f"/jobs/{key}?action=done#dir-{directory_id}", status_code=303)
