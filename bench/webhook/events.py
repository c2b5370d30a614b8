"""The events both paths apply, and Stripe's signature over them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from dbolt import checkout_proof

# A package the migrated template has, and its price in cents.
TIER = "starter"
PRICE = "price_starter_local"
AMOUNT_TOTAL = 14900
# What the sessions are signed with, as our checkout function signs them; the benchmarked
# receiver gets it through CHECKOUT_SIGNING_SECRET (dbolt/checkout_proof.py).
CHECKOUT_SIGNING_SECRET = "bench-checkout-signing-secret"  # noqa: S105 - a bench value


@dataclass(frozen=True)
class Event:
    id: str
    # The exact bytes sent: the signature covers them, and the direct path passes the same text.
    payload: str


def checkout_completed(run: str, level: int, n: int) -> Event:
    """A paid checkout.session.completed for a session (and customer) of its own."""
    key = f"{run}_{level}_{n}"
    event_id = f"evt_bench_{key}"
    session_id = f"cs_test_bench_{key}"
    proof = checkout_proof.sign(session_id, TIER, PRICE, CHECKOUT_SIGNING_SECRET)
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": f"pi_bench_{key}",
                "amount_total": AMOUNT_TOTAL,
                "currency": "usd",
                "customer_email": f"bench-{key}@example.com",
                "customer_details": {"email": f"bench-{key}@example.com", "name": None},
                "metadata": {"tier": TIER, "price": PRICE, "checkout_proof": proof},
                "success_url": "http://127.0.0.1:8300/onboarding?session_id={CHECKOUT_SESSION_ID}",
            }
        },
    }
    return Event(event_id, json.dumps(event, separators=(",", ":")))


def batch(level: int, count: int) -> list[Event]:
    run = uuid.uuid4().hex[:12]
    return [checkout_completed(run, level, n) for n in range(1, count + 1)]


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's scheme: `t=<unix>,v1=hex(HMAC_SHA256(secret, "<t>.<payload>"))`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"
