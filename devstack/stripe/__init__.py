"""Stand-in for the part of Stripe's API DirectoryBolt uses (`STRIPE_API_BASE`).

Checkout Sessions (create, update metadata, retrieve), the price list, a hosted test checkout
page at `/checkout/{session_id}` whose Pay button completes the session, and signed webhooks
delivered in the background with Stripe's retry behaviour (scaled down for local use).
`/_admin/*` lets tests pay, refund, dispute, settle delayed payments and resend events.
Test mode only: every object has `livemode: false` and ids carry `_test_` where Stripe's do.
Run it with `python -m devstack.stripe`.
"""

from __future__ import annotations

from devstack.stripe.app import create_app
from devstack.stripe.settings import PriceConfig, Settings
from devstack.stripe.webhooks import sign_payload

__all__ = ["PriceConfig", "Settings", "create_app", "sign_payload"]
