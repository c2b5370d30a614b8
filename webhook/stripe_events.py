"""POST /stripe/webhook: verify the signature over the raw body, then one SQL call.

Nothing is written unless the signature verifies. The SQL function records the event id
once and applies its effect in the same transaction, so Stripe's retries, replays and
out-of-order deliveries are all safe; slow work (Auth, SMTP) is left to the notifier.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import stripe
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dbolt import checkout_proof
from dbolt.sql import DatabaseUnavailable, InvalidArgument
from webhook.state import StateDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["stripe"])

# Outcomes after which an email may be waiting in the outbox.
_WAKE_NOTIFIER = {"order_paid"}


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _issued_by_checkout(event: dict[str, Any], secret: str) -> bool:
    if not str(event.get("type", "")).startswith("checkout.session."):
        return False
    data = event.get("data")
    session = data.get("object") if isinstance(data, dict) else None
    return isinstance(session, dict) and checkout_proof.verify(session, secret)


@router.post("/stripe/webhook")
async def receive_event(request: Request, state: StateDep) -> JSONResponse:
    settings = state.settings
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        return _refuse(413, f"body larger than {settings.max_body_bytes} bytes")
    signature = request.headers.get("stripe-signature")
    if not signature:
        log.warning("webhook without signature", extra={"action": "stripe.unsigned"})
        return _refuse(400, "Stripe-Signature header is required")
    try:
        payload = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            payload,
            signature,
            settings.stripe_webhook_secret.get_secret_value(),
            settings.signature_tolerance_seconds,
        )
        event: Any = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return _refuse(400, "body must be a JSON Stripe event")
    except stripe.SignatureVerificationError as error:
        log.warning(
            "webhook signature refused",
            extra={"action": "stripe.bad_signature", "reason": str(error)},
        )
        return _refuse(400, "Stripe-Signature does not verify")
    if not isinstance(event, dict):
        return _refuse(400, "body must be a JSON Stripe event")

    # Only our checkout function's sessions may become orders; the database decides, from
    # this verdict and the amount paid (supabase/migrations/…_checkout_integrity.sql).
    issued = _issued_by_checkout(event, settings.checkout_signing_secret.get_secret_value())
    try:
        row = await state.db.fetch_one(
            "stripe_events_apply", event=json.dumps(event), issued_by_checkout=issued
        )
    except InvalidArgument as error:
        # Signed by Stripe yet malformed (no id, no data.object): nothing was recorded.
        return _refuse(400, str(error))
    except DatabaseUnavailable:
        # Stripe retries a 5xx with backoff, so nothing is lost while the database is away.
        log.warning("database unreachable", extra={"action": "stripe.db_down"})
        return _refuse(503, "database unavailable, retry later")
    assert row is not None
    result: dict[str, Any] = row["result"]
    level = logging.ERROR if result.get("outcome") == "rejected" else logging.INFO
    log.log(
        level,
        "stripe event applied",
        extra={
            "action": "stripe.event_applied",
            "event_id": result.get("event_id"),
            "event_type": result.get("type"),
            "duplicate": result.get("duplicate"),
            "outcome": result.get("outcome"),
            "order_id": result.get("order_id"),
            "error": result.get("error"),
        },
    )
    if result.get("outcome") in _WAKE_NOTIFIER and not result.get("duplicate"):
        state.wake.set()
    # A rejected event is kept (with its error) for staff; answering 2xx stops Stripe from
    # retrying something that cannot succeed until someone looks at it.
    return JSONResponse({"received": True, **result})
