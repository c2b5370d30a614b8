"""Attacks on what the webhook records as a paid order, over real HTTP against the real
webhook, database and Stripe stand-in: a session our checkout never created (a Payment
Link, another product on the account, a leaked restricted key), one cent for a package, the
wrong currency, another price under a package's name. Each leaves no order and keeps the
event as refused, with its reason, for staff and the rejected-events metric."""

from __future__ import annotations

import json
from typing import Any

import httpx

from dbolt import checkout_proof
from devstack.stripe import sign_payload
from tests.support.webhook_harness import CHECKOUT_SECRET, WHSEC, Stack, stack, wait_for

__all__ = ["stack"]  # the fixture, imported for pytest


def paid_session_event(
    event_id: str,
    session_id: str,
    *,
    tier: str = "starter",
    price: str = "price_starter_local",
    amount: int = 14900,
    currency: str = "usd",
    proof: str | None = "sign",
) -> dict[str, Any]:
    metadata = {"tier": tier, "price": price}
    if proof == "sign":
        metadata["checkout_proof"] = checkout_proof.sign(session_id, tier, price, CHECKOUT_SECRET)
    elif proof is not None:
        metadata["checkout_proof"] = proof
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "payment_status": "paid",
                "payment_intent": "pi_" + session_id.removeprefix("cs_"),
                "amount_total": amount,
                "currency": currency,
                "customer_details": {"email": f"{event_id}@example.com"},
                "metadata": metadata,
            }
        },
    }


def post_signed(stack: Stack, event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event)
    answer = httpx.post(
        stack.webhook_url,
        content=body,
        headers={"Stripe-Signature": sign_payload(body, WHSEC)},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def assert_refused(stack: Stack, event_id: str, session_id: str, reason: str) -> None:
    row = stack.conn.execute(
        "select processed_at, outcome, error from stripe_events where id = %s", (event_id,)
    ).fetchone()
    assert row is not None, "the refused event must be kept"
    processed_at, outcome, error = row
    assert (processed_at, outcome) == (None, "rejected")
    assert reason in error, error
    assert (
        stack.scalar(
            "select count(*) from orders where stripe_checkout_session_id = %s", session_id
        )
        == 0
    )
    # Staff see it on the dashboard, with its reason.
    alert = stack.scalar(
        "select message from alerts where kind = 'stripe_event_rejected'"
        " and details ->> 'event_id' = %s",
        event_id,
    )
    assert alert is not None
    assert reason in alert
    # What the orchestrator exports as directorybolt_stripe_events_rejected counts it.
    assert (
        stack.scalar(
            "select count(*) from stripe_events where processed_at is null and error is not null"
        )
        >= 1
    )


def test_webhook_refuses_a_paid_session_our_checkout_never_created(stack: Stack) -> None:
    # A session made straight against Stripe (a Payment Link, a leaked restricted key, another
    # integration on the same account) with the right price and a tier in its metadata.
    session = stack.stripe.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [{"price": "price_starter_local", "quantity": 1}],
            "success_url": "http://127.0.0.1:8300/onboarding?session_id={CHECKOUT_SESSION_ID}",
            "customer_email": "not-ours@example.com",
            "metadata": {"tier": "starter", "price": "price_starter_local"},
        }
    )
    event_id = stack.pay(session.id)["events"][0]["id"]

    wait_for(
        lambda: stack.scalar("select outcome from stripe_events where id = %s", event_id),
        "the event to be recorded",
    )
    assert_refused(stack, event_id, session.id, "not created by our checkout")


def test_webhook_refuses_a_proof_copied_from_another_session(stack: Stack) -> None:
    genuine = checkout_proof.sign(
        "cs_test_genuine", "starter", "price_starter_local", CHECKOUT_SECRET
    )
    event = paid_session_event("evt_copied_proof", "cs_test_copycat", proof=genuine)

    assert post_signed(stack, event)["outcome"] == "rejected"
    assert_refused(stack, "evt_copied_proof", "cs_test_copycat", "not created by our checkout")


def test_webhook_refuses_one_cent_growth_order(stack: Stack) -> None:
    event = paid_session_event(
        "evt_one_cent", "cs_test_one_cent", tier="growth", price="price_growth_local", amount=1
    )

    assert post_signed(stack, event)["outcome"] == "rejected"
    assert_refused(stack, "evt_one_cent", "cs_test_one_cent", "amount_total")


def test_webhook_refuses_a_package_paid_in_the_wrong_currency(stack: Stack) -> None:
    event = paid_session_event("evt_wrong_currency", "cs_test_wrong_currency", currency="jpy")

    assert post_signed(stack, event)["outcome"] == "rejected"
    assert_refused(stack, "evt_wrong_currency", "cs_test_wrong_currency", "currency")


def test_webhook_refuses_another_price_sold_under_a_package_name(stack: Stack) -> None:
    # STRIPE_PRICE_ENTERPRISE pointed at the starter price by mistake (or a cheaper product):
    # the session is ours, but what was paid is not the enterprise package's price.
    event = paid_session_event(
        "evt_wrong_price",
        "cs_test_wrong_price",
        tier="enterprise",
        price="price_starter_local",
        amount=14900,
    )

    assert post_signed(stack, event)["outcome"] == "rejected"
    assert_refused(stack, "evt_wrong_price", "cs_test_wrong_price", "amount_total")


def test_webhook_records_the_paid_order_of_a_session_our_checkout_created(stack: Stack) -> None:
    event = paid_session_event(
        "evt_genuine",
        "cs_test_genuine_paid",
        tier="growth",
        price="price_growth_local",
        amount=29900,
    )

    assert post_signed(stack, event)["outcome"] == "order_paid"
    assert (
        stack.scalar(
            "select tier from orders where stripe_checkout_session_id = 'cs_test_genuine_paid'"
        )
        == "growth"
    )


def test_a_session_made_by_our_checkout_through_stripe_becomes_a_paid_order(stack: Stack) -> None:
    session = stack.checkout("ours@example.com", "professional")
    stack.pay(session.id)

    order = wait_for(lambda: stack.order(session.id), "the order")
    assert (order["tier"], order["status_text"], order["amount_total"]) == (
        "professional",
        "paid",
        59900,
    )


def test_the_proof_is_the_one_the_checkout_function_makes() -> None:
    # The same vector is asserted by supabase/functions/checkout/handler_test.ts.
    vector = "v1.3a32e9d07c2f47030d848578cddaf1171dad734cec5daaa03dee24d6d3d8f6dd"
    secret = "checkout_signing_fixture"
    assert checkout_proof.sign("cs_test_a1b2c3", "growth", "price_growth_100", secret) == vector
    metadata = {"tier": "growth", "price": "price_growth_100", "checkout_proof": vector}
    session: dict[str, Any] = {"id": "cs_test_a1b2c3", "metadata": metadata}
    assert checkout_proof.verify(session, secret)
    assert not checkout_proof.verify(session, "")
    assert not checkout_proof.verify({**session, "id": "cs_test_other"}, secret)
    assert not checkout_proof.verify(
        {**session, "metadata": {**metadata, "tier": "enterprise"}}, secret
    )
