"""The proof that a Stripe Checkout Session was created by our checkout Edge Function.

Why a proof in the session's metadata rather than a table of issued sessions: the Edge
Function (supabase/functions/checkout) is called by the portal *and*, being CORS-enabled, by
browsers directly; it holds no database credentials and has no remote imports, so it cannot
record what it issued. What it can do is sign. Right after Stripe creates the session, the
function updates the session's metadata (POST /v1/checkout/sessions/:id, metadata only) with

    checkout_proof = "v1." + hex(HMAC_SHA256(CHECKOUT_SIGNING_SECRET,
                                             "checkout:v1:<session id>:<tier>:<price id>"))

The signature covers the session's own id, so it cannot be copied onto another session (a
Payment Link's, one made with a leaked restricted key, one for another product on the same
account): those carry no valid proof and the webhook's order is refused. Only the secret key
holder who also has CHECKOUT_SIGNING_SECRET can mint one. The amount and currency are then
checked in SQL against the tier's configured price (tiers.price_amount / price_currency), so
even a proof made with a misconfigured STRIPE_PRICE_<TIER> cannot buy a package cheaply.

The Deno function implements the same construction (handler.ts `checkoutProof`); a fixed
test vector in both test suites keeps them in step.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

VERSION = "v1"
PROOF_KEY = "checkout_proof"


def _message(session_id: str, tier: str, price: str) -> bytes:
    return f"checkout:{VERSION}:{session_id}:{tier}:{price}".encode()


def sign(session_id: str, tier: str, price: str, secret: str) -> str:
    """The `checkout_proof` metadata value our checkout attaches to `session_id`."""
    digest = hmac.new(secret.encode(), _message(session_id, tier, price), hashlib.sha256)
    return f"{VERSION}.{digest.hexdigest()}"


def verify(session: Mapping[str, Any], secret: str) -> bool:
    """True only when the session's metadata carries a valid proof for its own id, tier and
    price. An empty secret verifies nothing (a receiver without the secret refuses all)."""
    if not secret:
        return False
    session_id = session.get("id")
    metadata = session.get("metadata")
    if not isinstance(session_id, str) or not isinstance(metadata, Mapping):
        return False
    tier, price, proof = metadata.get("tier"), metadata.get("price"), metadata.get(PROOF_KEY)
    if not all(isinstance(value, str) and value for value in (tier, price, proof)):
        return False
    expected = sign(session_id, str(tier), str(price), secret)
    return hmac.compare_digest(expected.encode(), str(proof).encode())
