"""GET /onboarding?session_id=cs_… (the return from Stripe Checkout), POST /onboarding and
/onboarding/status.

The Checkout Session id in the return URL is a bearer secret only the paying browser has.
Until the webhook has recorded the order (and linked the buyer's Auth user) the page says
"confirming payment" and polls /onboarding/status, which asks Stripe about the session when
the webhook is late so that the page can say honestly whether the payment went through
(portal.onboarding.stripe_lookup).

Once recorded, GET only shows a button: a GET never signs anybody in, so another site (or a
mail scanner) opening the link cannot log a visitor into the buyer's account (login CSRF);
the button POSTs, under the portal's cross-site request guard. The POST signs the buyer in
once per order if the database agrees the account is this purchase's own; anybody else is
told to sign in with the emailed link or code (portal.onboarding.buyer_sign_in).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from portal.auth import cookies
from portal.dependencies import MaybeViewer, PortalStateDep
from portal.onboarding import buyer_sign_in, stripe_lookup
from portal.onboarding.pages import (
    SESSION_ID,
    SIGN_IN_ELSEWHERE,
    bad_session_id,
    before_sign_in,
    sign_in_instead,
    status_row,
)
from portal.templating import render

router = APIRouter(tags=["customer"])


@router.get("/onboarding/status")
async def onboarding_status(
    state: PortalStateDep, request: Request, session_id: str = ""
) -> Response:
    if not SESSION_ID.match(session_id):
        return bad_session_id(request)
    row = await status_row(state, session_id)
    if row is not None and row["linked"]:
        return JSONResponse(
            {"state": "recorded", "order_status": row["status"], "message": "Payment confirmed."}
        )
    refused = stripe_lookup.lookup_refused(request, state)
    if refused is not None:
        return refused
    kind, message = stripe_lookup.describe(await stripe_lookup.stripe_session(state, session_id))
    code = 404 if kind == "unknown" else 200
    return JSONResponse({"state": kind, "message": message}, status_code=code)


@router.get("/onboarding")
async def onboarding(
    request: Request, state: PortalStateDep, viewer: MaybeViewer, session_id: str = ""
) -> Response:
    page, _ = await before_sign_in(request, state, viewer, session_id)
    if page is not None:
        return page
    # Recorded and paid: the same button for everyone, whether or not the POST will sign in.
    return render(
        request,
        "onboarding.html",
        session_id=session_id,
        state="confirm",
        message="Your payment is confirmed.",
    )


@router.post("/onboarding")
async def onboarding_sign_in(
    request: Request,
    state: PortalStateDep,
    viewer: MaybeViewer,
    session_id: Annotated[str, Form()] = "",
) -> Response:
    page, row = await before_sign_in(request, state, viewer, session_id)
    if page is not None:
        if isinstance(page, RedirectResponse) or page.status_code >= 400:
            return page
        # Not recorded yet (a POST from a stale page): back to the waiting page.
        return RedirectResponse(f"/onboarding?session_id={session_id}", status_code=303)
    assert row is not None
    form_path = f"/orders/{row['order_id']}/business"
    try:
        session = await buyer_sign_in.sign_in_buyer(state, session_id, row["order_id"])
    except buyer_sign_in.SignInElsewhere:
        return sign_in_instead(request, session_id, form_path, SIGN_IN_ELSEWHERE)
    except buyer_sign_in.AutomaticSignInFailed:
        return sign_in_instead(
            request,
            session_id,
            form_path,
            "Your payment is confirmed, but we could not sign you in automatically. "
            "Sign in with your email instead.",
            status_code=503,
        )
    response = RedirectResponse(form_path, status_code=303)
    cookies.start_session(response, session, secure=state.settings.cookie_secure)
    return response
