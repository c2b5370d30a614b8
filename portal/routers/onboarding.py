"""GET /onboarding?session_id=cs_… (the return from Stripe Checkout), POST /onboarding and
/onboarding/status.

The Checkout Session id in the return URL is a bearer secret only the paying browser has.
Until the webhook has recorded the order (and linked the buyer's Auth user) the page says
"confirming payment" and polls /onboarding/status, which asks Stripe about the session when
the webhook is late so that the page can say honestly whether the payment went through.

Once recorded, GET only shows a button: a GET never signs anybody in, so another site (or a
mail scanner) opening the link cannot log a visitor into the buyer's account (login CSRF);
the button POSTs, under the portal's cross-site request guard. The POST signs the buyer in
once per order, within ONBOARDING_WINDOW_SECONDS, and only if the database agrees that the
account is this purchase's own (orders_claim_onboarding_sign_in: created for this order,
never signed in, no role). Stripe does not verify the email typed on its page, so anybody
else — a buyer who typed staff's or another customer's address — is told, in the same words
as a buyer whose one chance is spent, to sign in with the emailed link or code.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from supabase_auth.errors import AuthError
from supabase_auth.types import Session

from dbolt.sql import InvalidTransition, NotFound
from portal import customer_auth, rate_limit
from portal.dependencies import MaybeViewer, PortalStateDep
from portal.state import PortalState
from portal.templating import render

log = logging.getLogger(__name__)
router = APIRouter(tags=["customer"])

SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
# How long after the order was recorded its checkout session id may sign the buyer in.
ONBOARDING_WINDOW_SECONDS = 30 * 60
STRIPE_CACHE_EXTRA = "portal_customer.stripe_sessions"
# Polling browsers ask every ~2 s; Stripe is asked at most this often per session.
STRIPE_CACHE_SECONDS = 3.0


def _bad_session_id(request: Request, session_id: str) -> Response:
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


async def _status_row(state: PortalState, session_id: str) -> dict[str, Any] | None:
    async with state.db.as_service() as q:
        return await q.fetch_one("orders_onboarding_status", session_id=session_id)


async def _viewer_owns(state: PortalState, viewer: MaybeViewer, order_id: uuid.UUID) -> bool:
    if viewer is None:
        return False
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("orders_get_own", order_id=order_id, user_id=viewer.user_id)
    return row is not None


async def stripe_session(state: PortalState, session_id: str) -> dict[str, Any] | None:
    """Stripe's view of the session (status, payment_status), or None if it cannot be asked.

    Only for a session the site issued (the portal started it, or an order carries it): any
    other id is answered "unknown" without an outbound call, so visitors cannot use the page
    to query Stripe with ids of their choosing."""
    async with state.db.as_service() as q:
        issued = await q.fetch_one("checkout_sessions_issued", session_id=session_id)
    if issued is None or not issued["issued"]:
        return {"status": "unknown"}
    cache = state.extras.setdefault(STRIPE_CACHE_EXTRA, {})
    assert isinstance(cache, dict)
    cached = cache.get(session_id)
    if cached is not None and time.monotonic() - cached[0] < STRIPE_CACHE_SECONDS:
        return cached[1]  # type: ignore[no-any-return]
    settings = state.settings
    try:
        response = await state.http.get(
            f"{settings.stripe_api_base.rstrip('/')}/v1/checkout/sessions/{session_id}",
            headers={"Authorization": f"Bearer {settings.stripe_secret_key.get_secret_value()}"},
        )
    except httpx.HTTPError as error:
        log.warning(
            "stripe unreachable for onboarding",
            extra={"action": "portal.onboarding_stripe_unreachable", "error": type(error).__name__},
        )
        return None
    if response.status_code == 404:
        found: dict[str, Any] | None = {"status": "unknown"}
    elif response.status_code == 200:
        body = response.json()
        found = {"status": body.get("status"), "payment_status": body.get("payment_status")}
    else:
        log.warning(
            "stripe refused the session lookup",
            extra={"action": "portal.onboarding_stripe_refused", "status": response.status_code},
        )
        return None
    if len(cache) > 1000:
        cache.clear()
    cache[session_id] = (time.monotonic(), found)
    return found


def _describe_stripe(found: dict[str, Any] | None) -> tuple[str, str]:
    if found is None:
        return "waiting", "Confirming your payment… this usually takes a few seconds."
    status, paid = found.get("status"), found.get("payment_status")
    if status == "unknown":
        return (
            "unknown",
            "Stripe does not know this checkout. Please start again from the pricing page.",
        )
    if paid in ("paid", "no_payment_required"):
        return "paid", "Stripe has received your payment. We are recording your order…"
    if status == "expired":
        return "expired", "This checkout expired before it was paid. Nothing was charged."
    if status == "complete":
        return (
            "processing",
            "Your payment is still being processed by your bank. "
            "We will email you as soon as it clears.",
        )
    return "unpaid", "Stripe has not received a payment for this checkout yet."


SIGN_IN_ELSEWHERE = "Your payment is confirmed. Sign in with your email to fill in your details."
TOO_MANY_LOOKUPS = "Too many checkout look-ups from your network. Please wait a minute."


def _lookup_refused(request: Request, state: PortalState) -> Response | None:
    """The per-IP limit on asking Stripe about sessions (a 429 to return), or None."""
    wait = rate_limit.limiter(state.extras).take(
        rate_limit.STRIPE_LOOKUP_PER_IP, rate_limit.client_ip(request)
    )
    if wait is None:
        return None
    log.warning(
        "onboarding look-ups rate limited", extra={"action": "portal.onboarding_rate_limited"}
    )
    return rate_limit.too_many(wait, TOO_MANY_LOOKUPS, as_json=request.url.path.endswith("/status"))


@router.get("/onboarding/status")
async def onboarding_status(
    state: PortalStateDep, request: Request, session_id: str = ""
) -> Response:
    if not SESSION_ID.match(session_id):
        return _bad_session_id(request, session_id)
    row = await _status_row(state, session_id)
    if row is not None and row["linked"]:
        return JSONResponse(
            {"state": "recorded", "order_status": row["status"], "message": "Payment confirmed."}
        )
    refused = _lookup_refused(request, state)
    if refused is not None:
        return refused
    kind, message = _describe_stripe(await stripe_session(state, session_id))
    code = 404 if kind == "unknown" else 200
    return JSONResponse({"state": kind, "message": message}, status_code=code)


async def _before_sign_in(
    request: Request, state: PortalState, viewer: MaybeViewer, session_id: str
) -> tuple[Response | None, dict[str, Any] | None]:
    """What GET and POST share: (a page to answer with, or None and the recorded paid order)."""
    if not SESSION_ID.match(session_id):
        return _bad_session_id(request, session_id), None
    row = await _status_row(state, session_id)
    if row is None or not row["linked"]:
        refused = _lookup_refused(request, state)
        if refused is not None:
            return refused, None
        kind, message = _describe_stripe(await stripe_session(state, session_id))
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


@router.get("/onboarding")
async def onboarding(
    request: Request, state: PortalStateDep, viewer: MaybeViewer, session_id: str = ""
) -> Response:
    page, _ = await _before_sign_in(request, state, viewer, session_id)
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


def _has_role(session: Session) -> bool:
    app_metadata = session.user.app_metadata or {}
    return bool(app_metadata.get("role"))


class _NotTheBuyersOwn(Exception):
    """Auth's session is not one checkout may hand out; refused like the database refuses."""


@router.post("/onboarding")
async def onboarding_sign_in(
    request: Request,
    state: PortalStateDep,
    viewer: MaybeViewer,
    session_id: Annotated[str, Form()] = "",
) -> Response:
    page, row = await _before_sign_in(request, state, viewer, session_id)
    if page is not None:
        if isinstance(page, RedirectResponse) or page.status_code >= 400:
            return page
        # Not recorded yet (a POST from a stale page): back to the waiting page.
        return RedirectResponse(f"/onboarding?session_id={session_id}", status_code=303)
    assert row is not None
    order_id: uuid.UUID = row["order_id"]
    form_path = f"/orders/{order_id}/business"
    response = RedirectResponse(form_path, status_code=303)
    try:
        async with state.db.as_service() as q:
            claimed = await q.fetch_one(
                "orders_claim_onboarding_sign_in",
                session_id=session_id,
                window_seconds=ONBOARDING_WINDOW_SECONDS,
            )
            assert claimed is not None
            # Inside the claim's transaction: if Auth fails, the one chance is not spent.
            link = await customer_auth.generate_magic_link(state, claimed["email"])
            session = await customer_auth.session_from_token_hash(
                state, link.hashed_token, link.verification_type
            )
            # The database has checked the account; these hold even if Auth disagrees.
            if session.user.id != str(claimed["user_id"]):
                raise LookupError("Auth signed in another user than the order's customer")
            if _has_role(session):
                raise _NotTheBuyersOwn("Auth signed in a user with a role from checkout")
    except (InvalidTransition, NotFound, _NotTheBuyersOwn) as refusal:
        # Already used, too late, or an account this purchase did not create: the normal
        # sign-in takes over, and the page says so in the same words in every case.
        log.log(
            logging.ERROR if isinstance(refusal, _NotTheBuyersOwn) else logging.INFO,
            "onboarding sign-in refused",
            extra={
                "action": "portal.onboarding_sign_in_refused",
                "reason": type(refusal).__name__,
                "order_id": str(order_id),
            },
        )
        return _sign_in_elsewhere(request, session_id, form_path)
    except (AuthError, LookupError, httpx.HTTPError) as error:
        log.error(
            "onboarding sign-in failed",
            extra={"action": "portal.onboarding_sign_in_failed", "error": type(error).__name__},
        )
        return render(
            request,
            "onboarding.html",
            status_code=503,
            session_id=session_id,
            state="sign_in",
            next_path=form_path,
            message="Your payment is confirmed, but we could not sign you in automatically. "
            "Sign in with your email instead.",
        )
    customer_auth.sign_in_response(state, response, session)
    log.info(
        "buyer signed in from checkout",
        extra={"action": "portal.onboarding_signed_in", "order_id": str(order_id)},
    )
    return response


def _sign_in_elsewhere(request: Request, session_id: str, form_path: str) -> Response:
    return render(
        request,
        "onboarding.html",
        session_id=session_id,
        state="sign_in",
        next_path=form_path,
        message=SIGN_IN_ELSEWHERE,
    )
