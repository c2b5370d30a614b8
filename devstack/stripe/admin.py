"""Test controls, not part of Stripe: what the dashboard and the banks would do.

List the sessions, pay one without a browser, read every event with its delivery attempts,
refund, dispute, settle delayed payments (each an event our webhook handles), resend an event
(the same event id, as the dashboard's Resend does), change the webhook endpoints. Actions
that emit an event answer with it (deliveries included) once its first delivery attempts are
made or pay_wait_seconds have passed.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request

from devstack.stripe.account import Outcome
from devstack.stripe.api import AccountDep
from devstack.stripe.errors import StripeError, bad_param
from devstack.stripe.loopback import loopback_problem
from devstack.stripe.webhooks import Event

log = logging.getLogger(__name__)

router = APIRouter(prefix="/_admin", tags=["stand-in controls"])

_OUTCOMES: frozenset[str] = frozenset({"card", "debit_fails", "debit_pending"})
_DISPUTE_REASONS = frozenset(
    {
        "fraudulent",
        "duplicate",
        "product_not_received",
        "product_unacceptable",
        "subscription_canceled",
        "credit_not_processed",
        "unrecognized",
        "general",
    }
)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise StripeError(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise StripeError(400, "The body must be a JSON object.")
    return body


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_param(name, f"{name} must be a string.")
    return value


def _loopback(url: object, param: str) -> str:
    if not isinstance(url, str):
        raise bad_param(param, f"{param} must be a URL string.")
    problem = loopback_problem(url)
    if problem is not None:
        raise bad_param(param, f"{param}: {url!r} {problem}")
    return url


@router.get("/events")
async def list_events(
    account: AccountDep, event_type: Annotated[str | None, Query(alias="type")] = None
) -> dict[str, Any]:
    """Every event, newest first, with each delivery and its attempts; `?type=` filters."""
    events = [
        e for e in reversed(account.events.values()) if event_type is None or e.type == event_type
    ]
    return {"events": [event.admin_json() for event in events]}


@router.post("/events/{event_id}/resend")
async def resend_event(event_id: str, request: Request, account: AccountDep) -> dict[str, Any]:
    """One attempt per endpoint (or to `{"url": …}` only), answered with its result."""
    event = account.event(event_id)
    url = (await _body(request)).get("url")
    endpoints = [_loopback(url, "url")] if url is not None else list(account.webhooks.endpoints)
    if not endpoints:
        raise StripeError(400, "No webhook endpoint is configured to resend to.")
    deliveries = [await account.webhooks.resend(event, endpoint) for endpoint in endpoints]
    log.info(
        "event resent",
        extra={"action": "stripe.event_resent", "event_id": event.id, "endpoints": endpoints},
    )
    return {**event.admin_json(), "resent": [d.to_json() for d in deliveries]}


@router.get("/sessions")
async def list_sessions(account: AccountDep) -> dict[str, Any]:
    """Every session, newest first: what a test checks our checkout function created."""
    return {"sessions": [s.to_json() for s in reversed(account.sessions.values())]}


@router.post("/sessions/{session_id}/pay")
async def pay_session(session_id: str, request: Request, account: AccountDep) -> dict[str, Any]:
    """What the hosted page's Pay does, for tests that do not drive a browser."""
    session = account.session(session_id)
    body = await _body(request)
    email = session.customer_email or _optional_str(body, "email")
    if not email:
        raise bad_param("email", "email is required when the session has no customer_email.")
    outcome = _optional_str(body, "outcome") or "card"
    if outcome not in _OUTCOMES:
        raise bad_param("outcome", f"outcome must be one of {', '.join(sorted(_OUTCOMES))}.")
    events = await account.pay(session, email, _optional_str(body, "name"), cast(Outcome, outcome))
    return {
        "session": session.to_json(),
        "redirect": session.success_redirect(),
        "events": [e.admin_json() for e in events],
    }


@router.post("/sessions/{session_id}/refund")
async def refund(session_id: str, request: Request, account: AccountDep) -> dict[str, Any]:
    """Refund the session's charge (all that remains, or `{"amount": cents}`): charge.refunded."""
    session = account.session(session_id)
    amount = (await _body(request)).get("amount")
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
        raise bad_param("amount", "amount must be an integer number of cents.")
    return _answer(await account.refund(session, amount))


@router.get("/refunds")
async def list_refunds(account: AccountDep) -> dict[str, Any]:
    """Every refund made (API or test controls), newest first: what a test checks was
    refunded, and how often."""
    return {"refunds": [r.to_json() for r in reversed(account.refunds.values())]}


@router.post("/sessions/{session_id}/dispute")
async def dispute(session_id: str, request: Request, account: AccountDep) -> dict[str, Any]:
    """The buyer's bank disputes the charge: charge.dispute.created."""
    session = account.session(session_id)
    reason = _optional_str(await _body(request), "reason") or "fraudulent"
    if reason not in _DISPUTE_REASONS:
        raise bad_param("reason", f"reason must be one of {', '.join(sorted(_DISPUTE_REASONS))}.")
    return _answer(await account.dispute(session, reason))


@router.post("/sessions/{session_id}/async_payment_failed")
async def async_payment_failed(session_id: str, account: AccountDep) -> dict[str, Any]:
    """The delayed payment fails. An open session is first completed unpaid by bank debit
    (checkout.session.completed with payment_status unpaid), as Stripe would."""
    session = account.session(session_id)
    if session.status == "open":
        email = session.customer_email or "buyer@example.com"
        events = await account.pay(session, email, None, "debit_fails")
        return _answer(events[-1])
    return _answer(await account.async_payment_failed(session))


@router.post("/sessions/{session_id}/async_payment_succeeded")
async def async_payment_succeeded(session_id: str, account: AccountDep) -> dict[str, Any]:
    """A pending delayed payment (outcome debit_pending) succeeds: the session becomes paid."""
    return _answer(await account.async_payment_succeeded(account.session(session_id)))


@router.get("/webhook_endpoints")
async def get_endpoints(account: AccountDep) -> dict[str, Any]:
    return {"urls": list(account.webhooks.endpoints)}


@router.put("/webhook_endpoints")
async def set_endpoints(request: Request, account: AccountDep) -> dict[str, Any]:
    """`{"urls": [...]}`: where events from now on are delivered (loopback URLs only)."""
    urls = (await _body(request)).get("urls")
    if not isinstance(urls, list):
        raise bad_param("urls", "urls must be a list of URLs.")
    account.webhooks.endpoints = [_loopback(url, f"urls[{i}]") for i, url in enumerate(urls)]
    log.info(
        "webhook endpoints changed",
        extra={"action": "stripe.endpoints_changed", "endpoints": account.webhooks.endpoints},
    )
    return {"urls": list(account.webhooks.endpoints)}


def _answer(event: Event) -> dict[str, Any]:
    return event.admin_json()
