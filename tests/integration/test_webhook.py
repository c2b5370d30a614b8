"""The Stripe webhook receiver over real HTTP, fed by the Stripe stand-in's signed (and
retried) deliveries, against a real database, with the Auth stand-in and the mail catcher
behind its notifier. No part of our own code is faked."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe
from psycopg.types.json import Jsonb

from dbolt import checkout_proof
from devstack import jwt_keys
from devstack.stripe import sign_payload
from tests.support.ports import free_port
from tests.support.webhook_harness import (
    CHECKOUT_SECRET,
    PORTAL_URL,
    WHSEC,
    Stack,
    fill_business,
    stack,
    use_directories,
    wait_for,
)

__all__ = ["stack"]  # the fixture, imported for pytest


def signed_post(
    stack: Stack, event: dict[str, Any], secret: str = WHSEC, **kw: Any
) -> httpx.Response:
    body = json.dumps(event)
    header = sign_payload(body, secret, kw.pop("timestamp", None))
    return httpx.post(
        stack.webhook_url,
        content=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        timeout=10,
    )


def session_event(event_id: str, session_id: str, email: str, intent: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "payment_status": "paid",
                "payment_intent": intent,
                "amount_total": 14900,
                "currency": "usd",
                "customer_details": {"email": email},
                # As our checkout function signs it (dbolt/checkout_proof.py).
                "metadata": {
                    "tier": "starter",
                    "price": "price_starter_local",
                    "checkout_proof": checkout_proof.sign(
                        session_id, "starter", "price_starter_local", CHECKOUT_SECRET
                    ),
                },
            }
        },
    }


def counts(stack: Stack) -> tuple[int, int, int]:
    return (
        stack.scalar("select count(*) from stripe_events"),
        stack.scalar("select count(*) from orders"),
        stack.scalar("select count(*) from customers"),
    )


# -- signatures ------------------------------------------------------------------------------
def test_forged_stale_or_missing_signatures_are_400_and_nothing_is_written(stack: Stack) -> None:
    event = session_event("evt_forged_1", "cs_test_forged", "forger@example.com", "pi_forged")
    body = json.dumps(event)
    before = counts(stack)

    missing = httpx.post(stack.webhook_url, content=body, timeout=10)
    wrong_secret = signed_post(stack, event, secret="whsec_someone_else")
    stale = signed_post(stack, event, timestamp=int(time.time()) - 301)
    good_header = sign_payload(body, WHSEC)
    tampered = httpx.post(
        stack.webhook_url,
        content=body.replace("forger@", "victim@"),
        headers={"Stripe-Signature": good_header},
        timeout=10,
    )
    reserialised = httpx.post(
        stack.webhook_url,
        content=json.dumps(event, indent=2),
        headers={"Stripe-Signature": good_header},
        timeout=10,
    )
    garbage = httpx.post(
        stack.webhook_url,
        content=b"t=1,v1=00",
        headers={"Stripe-Signature": "nonsense"},
        timeout=10,
    )

    assert missing.status_code == 400
    assert missing.json() == {"error": "Stripe-Signature header is required"}
    for refused in (wrong_secret, stale, tampered, reserialised, garbage):
        assert refused.status_code == 400, refused.text
    assert wrong_secret.json() == {"error": "Stripe-Signature does not verify"}
    assert counts(stack) == before == (0, 0, 0)

    # The same event, properly signed, goes through: the refusals were about the signature.
    accepted = signed_post(stack, event)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["outcome"] == "order_paid"
    assert counts(stack) == (1, 1, 1)


def test_healthz(stack: Stack) -> None:
    answer = httpx.get(f"{stack.webhook.url}/healthz", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["database"] == "reachable"


# -- idempotency -------------------------------------------------------------------------------
def test_a_replayed_event_makes_one_order(stack: Stack) -> None:
    session = stack.checkout("replay@example.com", "growth")
    paid = stack.pay(session.id)
    event_id = paid["events"][0]["id"]
    order = wait_for(lambda: stack.order(session.id), "the order")

    resent = stack.stripe_admin.post(f"/_admin/events/{event_id}/resend").json()
    again = stack.stripe_admin.post(f"/_admin/events/{event_id}/resend").json()

    for answer in (resent, again):
        attempt = answer["resent"][0]["attempts"][-1]
        assert attempt["status_code"] == 200
        assert json.loads(attempt["response_excerpt"])["duplicate"] is True
    assert stack.scalar("select count(*) from orders") == 1
    assert stack.scalar("select count(*) from stripe_events where id = %s", event_id) == 1
    assert (order["tier"], order["status_text"], order["amount_total"]) == ("growth", "paid", 29900)
    assert order["stripe_payment_intent_id"] == paid["session"]["payment_intent"]
    assert order["email"] == "replay@example.com"


def test_unknown_event_types_are_recorded_and_acknowledged(stack: Stack) -> None:
    answer = signed_post(
        stack, {"id": "evt_unknown_1", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}}
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored_unknown_type"
    assert stack.scalar("select outcome from stripe_events where id = 'evt_unknown_1'") == (
        "ignored_unknown_type"
    )


def test_a_signed_but_unusable_event_is_kept_with_its_error(stack: Stack) -> None:
    event = session_event("evt_no_tier", "cs_test_no_tier", "no-tier@example.com", "pi_no_tier")
    event["data"]["object"]["metadata"] = {}

    answer = signed_post(stack, event)

    assert answer.status_code == 200
    assert answer.json()["outcome"] == "rejected"
    row = stack.conn.execute(
        "select processed_at, error from stripe_events where id = 'evt_no_tier'"
    ).fetchone()
    assert row is not None
    assert row[0] is None
    assert "metadata.tier is required" in row[1]
    assert stack.scalar("select count(*) from orders") == 0


# -- refunds -------------------------------------------------------------------------------------
def enqueue(stack: Stack, order: dict[str, Any]) -> Any:
    fill_business(stack.conn, order["customer_id"])
    return stack.scalar("select id from jobs_enqueue(%s)", order["id"])


def test_a_refund_after_payment_cancels_the_pending_job(stack: Stack) -> None:
    use_directories(stack.conn, "dir-a", "dir-b")
    session = stack.checkout("refund-pending@example.com")
    stack.pay(session.id)
    order = wait_for(lambda: stack.order(session.id), "the order")
    job_id = enqueue(stack, order)

    refunded = stack.stripe_admin.post(f"/_admin/sessions/{session.id}/refund")

    assert refunded.status_code == 200
    assert refunded.json()["deliveries"][0]["attempts"][0]["status_code"] == 200
    assert stack.scalar("select status::text from orders where id = %s", order["id"]) == "refunded"
    assert stack.scalar("select status::text from jobs where id = %s", job_id) == "cancelled"
    assert (
        stack.scalar(
            "select actor from audit_log where action = 'job.cancelled' and job_id = %s", job_id
        )
        == "stripe:" + refunded.json()["id"]
    )


def test_a_refund_after_completion_leaves_the_job_complete(stack: Stack) -> None:
    use_directories(stack.conn, "dir-a")
    session = stack.checkout("refund-complete@example.com")
    stack.pay(session.id)
    order = wait_for(lambda: stack.order(session.id), "the order")
    job_id = enqueue(stack, order)
    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    stack.conn.execute(
        "select jobs_report_attempt(job_id => %s, lease_token => %s, report => %s)",
        (
            job_id,
            token,
            Jsonb({"directory_id": "dir-a", "attempt": 1, "outcome": "success", "confirmed": True}),
        ),
    )
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))

    stack.stripe_admin.post(f"/_admin/sessions/{session.id}/refund").raise_for_status()

    assert stack.scalar("select status::text from orders where id = %s", order["id"]) == "refunded"
    assert stack.scalar("select status::text from jobs where id = %s", job_id) == "complete"


def test_a_refund_delivered_before_the_checkout_event_is_not_lost(stack: Stack) -> None:
    # The checkout event's deliveries fail (its endpoint is down) while the refund's get
    # through; the checkout event arrives last, when it is resent.
    down = f"http://127.0.0.1:{free_port()}/stripe/webhook"
    stack.stripe_admin.put("/_admin/webhook_endpoints", json={"urls": [down]}).raise_for_status()
    session = stack.checkout("refund-first@example.com")
    completed = stack.pay(session.id)["events"][0]
    stack.stripe_admin.put(
        "/_admin/webhook_endpoints", json={"urls": [stack.webhook_url]}
    ).raise_for_status()

    refund = stack.stripe_admin.post(f"/_admin/sessions/{session.id}/refund").json()
    assert json.loads(refund["deliveries"][0]["attempts"][0]["response_excerpt"])["outcome"] == (
        "refunded_remembered"
    )
    assert stack.order(session.id) is None

    late = stack.stripe_admin.post(
        f"/_admin/events/{completed['id']}/resend", json={"url": stack.webhook_url}
    ).json()

    assert json.loads(late["resent"][0]["attempts"][-1]["response_excerpt"])["outcome"] == (
        "order_refunded"
    )
    order = stack.order(session.id)
    assert order is not None
    assert order["status_text"] == "refunded"
    fill_business(stack.conn, order["customer_id"])
    with pytest.raises(Exception, match="only a paid order can be enqueued"):
        stack.conn.execute("select jobs_enqueue(%s)", (order["id"],))
    assert (
        stack.scalar("select count(*) from notifications where order_id = %s", order["id"]) == 0
    ), "no payment email for an order that was refunded before it was paid"


# -- a burst -------------------------------------------------------------------------------------
def test_a_burst_of_200_checkouts_makes_200_orders(stack: Stack) -> None:
    sessions = [stack.checkout(f"burst{i}@example.com").id for i in range(200)]

    async def pay_all() -> list[int]:
        async with httpx.AsyncClient(
            base_url=stack.stripe_server.url, timeout=120, trust_env=False
        ) as client:
            answers = await asyncio.gather(
                *(client.post(f"/_admin/sessions/{s}/pay", json={}) for s in sessions)
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(pay_all()) == [200] * 200

    wait_for(lambda: stack.scalar("select count(*) from orders") == 200, "200 orders", deadline=120)
    assert stack.scalar("select count(distinct stripe_checkout_session_id) from orders") == 200
    assert stack.scalar("select count(*) from stripe_events where processed_at is not null") == 200
    assert stack.scalar("select count(*) from customers") == 200

    def delivered() -> bool:
        events = stack.stripe_admin.get("/_admin/events").json()["events"]
        return len(events) == 200 and all(
            e["deliveries"][0]["status"] == "succeeded" for e in events
        )

    wait_for(delivered, "every delivery to succeed", deadline=120)
    # Every buyer gets their payment email, once.
    wait_for(
        lambda: stack.scalar("select count(*) from notifications where sent_at is not null") == 200,
        "200 payment emails",
        deadline=180,
    )
    assert stack.mail_api.get("/api/messages").json()["total"] == 200


# -- the payment email -----------------------------------------------------------------------------
def confirm_link(mail: dict[str, Any]) -> str:
    found = re.search(re.escape(PORTAL_URL) + r"/auth/confirm\?\S+", mail["text"])
    assert found, mail["text"]
    return found.group(0)


def verify(stack: Stack, link: str) -> dict[str, Any]:
    params = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    answer = httpx.post(
        f"{stack.auth.url}/auth/v1/verify",
        json={"token_hash": params["token_hash"], "type": params["type"]},
        headers={"apikey": jwt_keys.mint_api_key("anon")},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_payment_email_signs_the_buyer_in_to_the_business_form(stack: Stack) -> None:
    order = stack.paid_order("New.Buyer@Example.com")

    (mail,) = stack.wait_mails("new.buyer@example.com", 1)

    assert mail["subject"] == "Payment received — tell us about your business"
    assert mail["text"], "a text part"
    assert mail["html"], "an HTML part"
    assert "$149.00" in mail["text"]
    link = confirm_link(mail)
    params = parse_qs(urlsplit(link).query)
    assert params["next"] == [f"/orders/{order['id']}/business"]
    assert params["type"] == ["signup"], "a first-time buyer's user was just created by Auth"
    assert link.replace("&", "&amp;") in mail["html"]
    session = verify(stack, link)
    user_id = stack.scalar("select user_id from customers where id = %s", order["customer_id"])
    assert user_id is not None, "the customer is linked to the Auth user"
    assert session["user"]["id"] == str(user_id)
    assert session["user"]["email"] == "new.buyer@example.com"
    assert session["access_token"]

    # A returning buyer (an Auth user already) gets a magic link for the second order.
    second = stack.paid_order("new.buyer@example.com")
    mails = stack.wait_mails("new.buyer@example.com", 2)
    newest = confirm_link(mails[0])
    assert parse_qs(urlsplit(newest).query)["type"] == ["magiclink"]
    assert parse_qs(urlsplit(newest).query)["next"] == [f"/orders/{second['id']}/business"]
    assert verify(stack, newest)["user"]["id"] == str(user_id)
    assert stack.scalar("select count(*) from notifications where sent_at is not null") == 2


def test_the_signature_check_uses_the_official_library() -> None:
    # What the receiver relies on: a re-serialised body fails, the raw one passes.
    body = json.dumps({"id": "evt_x", "type": "x", "data": {"object": {}}})
    header = sign_payload(body, WHSEC)
    stripe.WebhookSignature.verify_header(body, header, WHSEC, 300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body + " ", header, WHSEC, 300)
