"""What the onboarding page shows for a Checkout Session id: an error, the waiting page (with
Stripe's word on the payment), the business form of a buyer already signed in, or — recorded
and paid — the order to sign in for.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from portal.onboarding import stripe_lookup
from portal.state import PortalState
from portal.templating import render
from portal.viewer import Viewer

SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
SIGN_IN_ELSEWHERE = "Your payment is confirmed. Sign in with your email to fill in your details."


def bad_session_id(request: Request) -> Response:
    message = "session_id must be the Checkout Session id Stripe returned (cs_…)."
    if request.url.path.endswith("/status"):
        return JSONResponse({"state": "invalid", "field": "session_id", "message": message}, 400)
    return render(
        request,
        "error.html",
        status_code=400,
        status=400,
        title="That did not work",
        message=message,
    )


async def status_row(state: PortalState, session_id: str) -> dict[str, Any] | None:
    async with state.db.as_service() as q:
        return await q.fetch_one("orders_onboarding_status", session_id=session_id)


async def _viewer_owns(state: PortalState, viewer: Viewer | None, order_id: uuid.UUID) -> bool:
    if viewer is None:
        return False
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("orders_get_own", order_id=order_id, user_id=viewer.user_id)
    return row is not None


async def before_sign_in(
    request: Request, state: PortalState, viewer: Viewer | None, session_id: str
) -> tuple[Response | None, dict[str, Any] | None]:
    """What GET and POST share: (a page to answer with, or None and the recorded paid order)."""
    if not SESSION_ID.match(session_id):
        return bad_session_id(request), None
    row = await status_row(state, session_id)
    if row is None or not row["linked"]:
        refused = stripe_lookup.lookup_refused(request, state)
        if refused is not None:
            return refused, None
        kind, message = stripe_lookup.describe(
            await stripe_lookup.stripe_session(state, session_id)
        )
        if kind == "unknown":
            return render(
                request,
                "error.html",
                status_code=404,
                status=404,
                title="Not found",
                message=message,
            ), None
        return render(
            request, "onboarding.html", session_id=session_id, state=kind, message=message
        ), None
    order_id: uuid.UUID = row["order_id"]
    if row["status"] != "paid":
        return render(
            request,
            "onboarding.html",
            session_id=session_id,
            state="not_paid",
            message=f"This order is {row['status'].replace('_', ' ')}: nothing to fill in.",
        ), None
    if await _viewer_owns(state, viewer, order_id):
        return RedirectResponse(f"/orders/{order_id}/business", status_code=303), None
    return None, row


def sign_in_instead(
    request: Request, session_id: str, form_path: str, message: str, status_code: int = 200
) -> Response:
    """The page asking the buyer to sign in with their email, then go on to the form."""
    return render(
        request,
        "onboarding.html",
        status_code=status_code,
        session_id=session_id,
        state="sign_in",
        next_path=form_path,
        message=message,
    )
