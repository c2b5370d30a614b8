"""Pricing and checkout through the portal with real pieces: the Stripe stand-in (prices and
Checkout Sessions, read back with the official stripe library), the checkout Edge Function
served by Deno behind the Supabase stand-in's /functions/v1 gateway, and the Auth stand-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
import stripe
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from dbolt import checkout_proof
from devstack.functions import EdgeFunctions
from devstack.serving import AppServer
from devstack.stripe import Settings as StripeSettings
from devstack.stripe import create_app as create_stripe_app
from devstack.supabase_api.app import create_app as create_supabase_app
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from tests.support.portal_harness import PORTAL_URL, portal_app
from tests.support.ports import free_port

STRIPE_KEY = "sk_test_portal_pricing"
SIGNING_SECRET = "checkout_signing_pricing_tests"


@dataclass
class CheckoutStack:
    client: TestClient
    stripe_url: str
    functions_url: str
    db_url: str


@pytest.fixture
def stripe_standin() -> Iterator[AppServer]:
    with AppServer(create_stripe_app(StripeSettings(secret_key=STRIPE_KEY)), "stripe") as server:
        yield server


@pytest.fixture
def checkout_function(stripe_standin: AppServer) -> Iterator[dict[str, str]]:
    """supabase/functions/checkout under Deno (loopback-only network), as make up runs it."""
    secrets = {
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": stripe_standin.url,
        "PORTAL_URL": PORTAL_URL,
        "CHECKOUT_SIGNING_SECRET": SIGNING_SECRET,
        **{
            f"STRIPE_PRICE_{tier.upper()}": f"price_{tier}_local"
            for tier in ("starter", "growth", "professional", "enterprise")
        },
    }
    with EdgeFunctions(secrets, names=["checkout"]) as functions:
        yield functions.upstreams


@pytest.fixture
def checkout_stack(
    db_url: str, stripe_standin: AppServer, checkout_function: dict[str, str]
) -> Iterator[CheckoutStack]:
    # The portal reaches the function the way it does in production: through the Supabase
    # gateway at {SUPABASE_URL}/functions/v1 (its default functions URL).
    supabase_app = create_supabase_app(
        SupabaseSettings(database_url=db_url), functions=checkout_function
    )
    with AppServer(supabase_app, "the Supabase stand-in") as supabase:
        app = portal_app(
            db_url, supabase.url, stripe_api_base=stripe_standin.url, stripe_secret_key=STRIPE_KEY
        )
        with TestClient(app, base_url=PORTAL_URL, follow_redirects=False) as client:
            yield CheckoutStack(client, stripe_standin.url, f"{supabase.url}/functions/v1", db_url)


def stripe_client(stack: CheckoutStack) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": stack.stripe_url})


def test_pricing_shows_the_four_packages_with_stripes_prices(checkout_stack: CheckoutStack) -> None:
    for path in ("/", "/pricing"):
        page = checkout_stack.client.get(path)
        assert page.status_code == 200
        text = re.sub(r"\s+", " ", page.text)
        for tier, directories, price in (
            ("Starter", 50, "$149"),
            ("Growth", 100, "$299"),
            ("Professional", 300, "$599"),
            ("Enterprise", 500, "$999"),
        ):
            assert f'<h2 id="package-{tier.lower()}">{tier}</h2>' in text
            assert f"{price}<span" in text
            assert f"<strong>{directories} directories</strong>" in text
            assert f'name="tier" value="{tier.lower()}"' in text


def test_pricing_says_what_each_package_delivers_today_and_what_happens_if_fewer(
    checkout_stack: CheckoutStack,
) -> None:
    """Never more than the enabled catalogue holds for a package, and the plain sentence on
    replacement and pro-rata refunds."""
    with psycopg.connect(checkout_stack.db_url, autocommit=True) as conn:
        entries = [
            {
                "id": f"dir-{n}",
                "name": f"Directory {n}",
                "homepage": f"http://127.0.0.1:9/{n}",
                "tier": tier,
                "mode": "auto",
                "enabled": True,
            }
            for n, tier in enumerate(["starter"] * 3 + ["growth"] * 2)
        ]
        conn.execute("select directories_sync(%s::jsonb)", (Jsonb(entries),))
        conn.execute("update tiers set directory_limit = 2 where name = 'starter'")
    text = re.sub(r"\s+", " ", checkout_stack.client.get("/pricing").text)
    assert 'id="package-starter-today">Today: all 2 available.' in text
    for tier, limit, today in (
        ("growth", 100, 5),
        ("professional", 300, 5),
        ("enterprise", 500, 5),
    ):
        assert (
            f'id="package-{tier}-today">Today: up to <strong>{today}</strong> directories. '
            f"Any of the {limit} we cannot deliver is refunded pro rata." in text
        )
    assert "we replace each with the next directory that does" in text
    assert "refunded to your card, pro rata, when your job completes" in text


def test_buying_a_package_goes_to_stripe_checkout_for_that_tier(
    checkout_stack: CheckoutStack,
) -> None:
    response = checkout_stack.client.post("/checkout", data={"tier": "growth"})
    assert response.status_code == 303
    url = response.headers["location"]
    session_id = re.search(r"(cs_[A-Za-z0-9_]+)", url)
    assert session_id, url
    assert url.startswith(checkout_stack.stripe_url)
    session = stripe_client(checkout_stack).v1.checkout.sessions.retrieve(session_id.group(1))
    assert session.metadata is not None
    metadata = session.metadata.to_dict()
    assert {k: metadata[k] for k in ("tier", "price")} == {
        "tier": "growth",
        "price": "price_growth_local",
    }
    # Signed by the function as ours (what the webhook checks before an order is recorded)…
    assert checkout_proof.verify(session.to_dict(), SIGNING_SECRET)
    # …and recorded by the portal, so onboarding may ask Stripe about it.
    with psycopg.connect(checkout_stack.db_url) as conn:
        issued = conn.execute(
            "select checkout_sessions_issued(%s)", (session_id.group(1),)
        ).fetchone()
    assert issued == (True,)
    assert session.success_url == f"{PORTAL_URL}/onboarding?session_id={{CHECKOUT_SESSION_ID}}"
    assert session.cancel_url == f"{PORTAL_URL}/pricing?cancelled=1"
    assert session.payment_status == "unpaid"


@pytest.mark.parametrize("tier", ["gold", "", "Starter", "starter'; drop table orders;--"])
def test_an_unknown_tier_is_refused_naming_it(checkout_stack: CheckoutStack, tier: str) -> None:
    response = checkout_stack.client.post("/checkout", data={"tier": tier})
    assert response.status_code == 400
    assert 'id="checkout-error"' in response.text
    assert "tier: " in response.text
    assert "is not a package" in response.text
    assert "starter, growth, professional, enterprise" in response.text


def test_a_cancelled_checkout_says_so(checkout_stack: CheckoutStack) -> None:
    page = checkout_stack.client.get("/pricing?cancelled=1")
    assert page.status_code == 200
    assert "Checkout was cancelled and nothing was charged" in page.text


def test_checkout_says_so_when_the_function_is_down(db_url: str) -> None:
    with ServerThread(SupabaseSettings(database_url=db_url)) as supabase:
        app = portal_app(
            db_url,
            supabase.url,
            functions_url=f"http://127.0.0.1:{free_port()}/functions/v1",
            stripe_api_base=f"http://127.0.0.1:{free_port()}",
        )
        with TestClient(app, base_url=PORTAL_URL, follow_redirects=False) as client:
            page = client.get("/pricing")
            assert page.status_code == 200
            assert "Price shown at checkout" in page.text
            response = client.post("/checkout", data={"tier": "starter"})
            assert response.status_code == 502
            assert "Nothing was charged" in response.text
