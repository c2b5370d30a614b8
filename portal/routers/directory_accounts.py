"""Showing the password of an account we opened on a directory, one at a time, audited.

POST /jobs/{id}/accounts/{account_id}/reveal         the customer who owns it: the job page
    again, with that password shown in its row
POST /staff/jobs/{id}/accounts/{account_id}/reveal   staff, with a required reason (recorded
    in the audit trail with their email): a page with the password

Both are POST forms (cross-site posts are refused by OriginGuardMiddleware and the SameSite
session cookie, as for every portal form), rate limited per user, and answer with
`Cache-Control: no-store`. Another customer's account, or one not on this job, is a 404
exactly like one that does not exist (portal.directory_accounts.find_account).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import Response

from portal import rate_limit
from portal.dependencies import PortalStateDep, SignedIn, StaffViewer
from portal.directory_accounts import (
    CANNOT_OPEN,
    NO_STORE,
    PasswordUnavailable,
    find_account,
    reveal_password,
)
from portal.errors import error_response
from portal.jobs.reads import job_uuid
from portal.routers.jobs import job_page_response
from portal.state import PortalState
from portal.templating import render
from portal.viewer import Viewer

router = APIRouter()

AccountId = Annotated[uuid.UUID, Path(description="The account's id")]


def _too_many(state: PortalState, viewer: Viewer) -> Response | None:
    wait = rate_limit.limiter(state.extras).take(rate_limit.REVEAL_PER_USER, str(viewer.user_id))
    if wait is None:
        return None
    return rate_limit.too_many(
        wait, "You have asked to see several passwords in a short time. Please wait a few minutes."
    )


@router.post("/jobs/{job_id}/accounts/{account_id}/reveal", tags=["customer"])
async def reveal_for_customer(
    request: Request, job_id: str, account_id: AccountId, viewer: SignedIn, state: PortalStateDep
) -> Response:
    key = job_uuid(job_id)
    # The viewer's own accounts only, staff included (they reveal on the dashboard).
    await find_account(state, viewer, key, account_id, staff=False)
    refused = _too_many(state, viewer)
    if refused is not None:
        return refused
    try:
        password = await reveal_password(state, viewer, account_id)
    except PasswordUnavailable:
        return error_response(request, 503, CANNOT_OPEN)
    return await job_page_response(request, state, viewer, key, {str(account_id): password})


@router.post("/staff/jobs/{job_id}/accounts/{account_id}/reveal", tags=["staff"])
async def reveal_for_staff(
    request: Request,
    job_id: Annotated[uuid.UUID, Path(description="The job's id")],
    account_id: AccountId,
    viewer: StaffViewer,
    state: PortalStateDep,
    reason: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    account = await find_account(state, viewer, job_id, account_id, staff=True)
    reason = (reason or "").strip() or None
    context: dict[str, Any] = {
        "section": "jobs",
        "job_id": job_id,
        "account": account,
        "reason": reason or "",
    }
    if reason is None:
        return render(
            request,
            "staff/account_reveal.html",
            status_code=422,
            reason_problem="Say why you need this password: it is recorded in the audit trail.",
            **context,
        )
    refused = _too_many(state, viewer)
    if refused is not None:
        return refused
    try:
        password = await reveal_password(state, viewer, account_id, staff_reason=reason)
    except PasswordUnavailable:
        return error_response(
            request,
            503,
            "The stored password did not open: VAULT_KEYS lacks the key it was "
            "sealed with (see the orchestrator's and portal's vault.open_failed log lines).",
        )
    response = render(request, "staff/account_reveal.html", password=password, **context)
    response.headers.update(NO_STORE)
    return response
