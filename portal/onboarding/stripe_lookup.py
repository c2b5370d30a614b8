"""Asking Stripe about a Checkout Session while the webhook is late, and what the onboarding
page says about the answer.

Only a session the site issued is looked up, at most every STRIPE_CACHE_SECONDS per session
and within a per-IP rate limit, so visitors cannot use the page to query Stripe with ids of
their choosing or to hammer it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from portal import rate_limit
from portal.state import PortalState

log = logging.getLogger(__name__)

STRIPE_CACHE_EXTRA = "portal_customer.stripe_sessions"
# Polling browsers ask every ~2 s; Stripe is asked at most this often per session.
STRIPE_CACHE_SECONDS = 3.0
TOO_MANY_LOOKUPS = "Too many checkout look-ups from your network. Please wait a minute."


async def stripe_session(state: PortalState, session_id: str) -> dict[str, Any] | None:
    """Stripe's view of the session (status, payment_status), or None if it cannot be asked.

    Only for a session the site issued (the portal started it, or an order carries it): any
    other id is answered "unknown" without an outbound call."""
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


def describe(found: dict[str, Any] | None) -> tuple[str, str]:
    """The page's state for Stripe's answer and the words it shows."""
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


def lookup_refused(request: Request, state: PortalState) -> Response | None:
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
