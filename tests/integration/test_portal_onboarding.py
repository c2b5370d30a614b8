"""Returning from Stripe Checkout: the portal waits honestly ("confirming payment", asking the
Stripe stand-in when the webhook is late), then signs the buyer in ONCE per order through the
real Auth stand-in (admin generate_link + verify by token hash) and goes on to the form."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import stripe
from fastapi.testclient import TestClient

from devstack import jwt_keys
from devstack.serving import AppServer
from devstack.stripe import Settings as StripeSettings
from devstack.stripe import create_app as create_stripe_app
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal.auth.cookies import ACCESS_COOKIE
from tests.support.portal_harness import PORTAL_URL, portal_app, sign_in_cookies

STRIPE_KEY = "sk_test_portal_onboarding"


@dataclass
class OnboardingStack:
    client: TestClient
    stripe_url: str
    db_url: str

    def paid_order(self, email: str) -> tuple[uuid.UUID, str, uuid.UUID]:
        """(order id, checkout session id, user id) of an order the webhook has recorded."""
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            created = conn.execute(
                "select dev.create_paid_order(%s, 'starter', '{}')", (email,)
            ).fetchone()
            assert created is not None
            row = conn.execute(
                "select o.id, o.stripe_checkout_session_id, c.user_id from orders o"
                " join customers c on c.id = o.customer_id where o.id = %s",
                (created[0],),
            ).fetchone()
        assert row is not None
        return row[0], row[1], row[2]

    def stripe(self) -> stripe.StripeClient:
        return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": self.stripe_url})


def claimed(db_url: str, order_id: uuid.UUID) -> bool:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "select onboarding_signed_in_at is not null from orders where id = %s", (order_id,)
        ).fetchone()
    assert row is not None
    return bool(row[0])


def confirm(stack: OnboardingStack, session_id: str) -> httpx.Response:
    """The onboarding page's button: a same-site form POST."""
    response: httpx.Response = stack.client.post(
        "/onboarding", data={"session_id": session_id}, headers={"Origin": PORTAL_URL}
    )
    return response


@pytest.fixture
def stack(db_url: str) -> Iterator[OnboardingStack]:
    stripe_app = create_stripe_app(StripeSettings(secret_key=STRIPE_KEY, pay_wait_seconds=0.0))
    with (
        AppServer(stripe_app, "stripe") as stripe_server,
        ServerThread(SupabaseSettings(database_url=db_url)) as supabase,
    ):
        app = portal_app(
            db_url, supabase.url, stripe_api_base=stripe_server.url, stripe_secret_key=STRIPE_KEY
        )
        with TestClient(app, base_url=PORTAL_URL, follow_redirects=False) as client:
            yield OnboardingStack(client, stripe_server.url, db_url)


def test_a_recorded_order_signs_the_buyer_in_once_and_opens_the_form(
    stack: OnboardingStack,
) -> None:
    order_id, session_id, user_id = stack.paid_order("buyer@example.com")
    page = stack.client.get(f"/onboarding?session_id={session_id}")
    assert page.status_code == 200
    assert "Continue to your business details" in page.text
    response = confirm(stack, session_id)
    assert response.status_code == 303
    assert response.headers["location"] == f"/orders/{order_id}/business"
    assert jwt_keys.verify(stack.client.cookies[ACCESS_COOKIE])["sub"] == str(user_id)
    form = stack.client.get(response.headers["location"])
    assert form.status_code == 200
    assert "Your business details" in form.text

    # Visiting again while signed in just goes to the form.
    assert stack.client.get(f"/onboarding?session_id={session_id}").status_code == 303

    # The session id does not sign anyone in a second time.
    stack.client.cookies.clear()
    again = confirm(stack, session_id)
    assert again.status_code == 200
    assert "Payment confirmed" in again.text
    assert f"/sign-in?next=/orders/{order_id}/business" in again.text.replace("%2F", "/")
    assert ACCESS_COOKIE not in stack.client.cookies
    with psycopg.connect(stack.db_url) as conn:
        signed_in = conn.execute(
            "select onboarding_signed_in_at is not null from orders where id = %s", (order_id,)
        ).fetchone()
    assert signed_in == (True,)


def test_the_one_time_sign_in_expires(stack: OnboardingStack) -> None:
    order_id, session_id, _ = stack.paid_order("late@example.com")
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute(
            "update orders set created_at = now() - interval '2 hours' where id = %s", (order_id,)
        )
    page = confirm(stack, session_id)
    assert page.status_code == 200
    assert "Sign in to continue" in page.text
    assert ACCESS_COOKIE not in stack.client.cookies


def test_another_customers_session_id_on_a_signed_in_browser_still_signs_in_only_its_buyer(
    stack: OnboardingStack,
) -> None:
    _, _, bob_user = stack.paid_order("bob@example.com")
    order_id, session_id, user_id = stack.paid_order("carol@example.com")
    for name, value in sign_in_cookies(bob_user, "bob@example.com").items():
        stack.client.cookies.set(name, value, domain="testserver.local")
    response = confirm(stack, session_id)
    assert response.headers["location"] == f"/orders/{order_id}/business"
    assert jwt_keys.verify(stack.client.cookies[ACCESS_COOKIE])["sub"] == str(user_id)


def test_while_the_webhook_is_late_the_page_polls_and_reports_what_stripe_says(
    stack: OnboardingStack,
) -> None:
    session = stack.stripe().v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [{"price": "price_starter_local", "quantity": 1}],
            "success_url": f"{PORTAL_URL}/onboarding?session_id={{CHECKOUT_SESSION_ID}}",
            "customer_email": "slow@example.com",
            "metadata": {"tier": "starter"},
        }
    )
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        # As the portal's POST /checkout records it: onboarding asks Stripe only about these.
        conn.execute("select checkout_sessions_record(%s, 'starter')", (session.id,))
    page = stack.client.get(f"/onboarding?session_id={session.id}")
    assert page.status_code == 200
    assert "Confirming payment…" in page.text
    assert 'aria-live="polite"' in page.text
    assert "/static/onboarding.js" in page.text
    status = stack.client.get(f"/onboarding/status?session_id={session.id}")
    assert status.json()["state"] == "unpaid"

    # Paid at Stripe, but no webhook has arrived (none is configured): "paid", not "recorded".
    paid = httpx.post(f"{stack.stripe_url}/_admin/sessions/{session.id}/pay", json={})
    assert paid.status_code == 200, paid.text
    stack.client.app.state.portal.extras.pop("portal_customer.stripe_sessions", None)  # type: ignore[attr-defined]
    status = stack.client.get(f"/onboarding/status?session_id={session.id}")
    assert status.json()["state"] == "paid"
    assert "Stripe has received your payment" in status.json()["message"]

    # The webhook records the order: the next poll says so and the page signs the buyer in.
    order_id, _, _ = stack.paid_order("slow@example.com")
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute(
            "update orders set stripe_checkout_session_id = %s where id = %s",
            (session.id, order_id),
        )
    assert (
        stack.client.get(f"/onboarding/status?session_id={session.id}").json()["state"]
        == "recorded"
    )
    done = confirm(stack, session.id)
    assert done.headers["location"] == f"/orders/{order_id}/business"


def test_a_customer_not_yet_linked_to_an_account_keeps_waiting(stack: OnboardingStack) -> None:
    _, session_id, _ = stack.paid_order("unlinked@example.com")
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute("update customers set user_id = null where email = 'unlinked@example.com'")
    page = stack.client.get(f"/onboarding?session_id={session_id}")
    assert page.status_code in (200, 404)
    assert ACCESS_COOKIE not in stack.client.cookies
    assert (
        stack.client.get(f"/onboarding/status?session_id={session_id}").json()["state"]
        != "recorded"
    )


def test_refunded_orders_and_unknown_or_malformed_sessions(stack: OnboardingStack) -> None:
    order_id, session_id, _ = stack.paid_order("refund@example.com")
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute("update orders set status = 'refunded' where id = %s", (order_id,))
    refunded = stack.client.get(f"/onboarding?session_id={session_id}")
    assert refunded.status_code == 200
    assert "refunded" in refunded.text
    assert ACCESS_COOKIE not in stack.client.cookies

    unknown = stack.client.get("/onboarding?session_id=cs_test_nobody")
    assert unknown.status_code == 404
    assert stack.client.get("/onboarding/status?session_id=cs_test_nobody").status_code == 404

    for bad in ("", "pi_123", "cs_<script>", "cs_" + "a" * 300):
        page = stack.client.get("/onboarding", params={"session_id": bad})
        assert page.status_code == 400
        assert "session_id" in page.text
        status = stack.client.get("/onboarding/status", params={"session_id": bad})
        assert status.status_code == 400
        assert status.json()["field"] == "session_id"


# -- login CSRF: a link carrying session_id confirms with a POST ---------------------------------
def test_opening_the_checkout_return_link_as_a_cross_site_navigation_signs_nobody_in(
    stack: OnboardingStack,
) -> None:
    # Another site sending a visitor to the attacker's own session id (to sign the visitor
    # into the attacker's account), or a scanner fetching the link: a GET.
    order_id, session_id, user_id = stack.paid_order("csrf-buyer@example.com")
    for _ in range(2):
        page = stack.client.get(
            f"/onboarding?session_id={session_id}", headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert page.status_code == 200
        assert ACCESS_COOKIE not in stack.client.cookies
        assert 'method="post" action="/onboarding"' in page.text
    assert not claimed(stack.db_url, order_id), "a GET used up the one sign-in"
    done = confirm(stack, session_id)
    assert done.status_code == 303
    assert jwt_keys.verify(stack.client.cookies[ACCESS_COOKIE])["sub"] == str(user_id)


def test_a_cross_site_post_of_a_checkout_session_id_is_refused(stack: OnboardingStack) -> None:
    order_id, session_id, _ = stack.paid_order("csrf-post@example.com")
    for origin in ("https://evil.example", "null"):
        refused = stack.client.post(
            "/onboarding", data={"session_id": session_id}, headers={"Origin": origin}
        )
        assert refused.status_code == 403
        assert ACCESS_COOKIE not in stack.client.cookies
    assert not claimed(stack.db_url, order_id)
    assert confirm(stack, session_id).status_code == 303
