"""The onboarding page asks Stripe only about Checkout Sessions the site issued: a visitor
typing random `cs_…` ids must not make the portal query Stripe (a free oracle on our account
and a way to burn its rate limit). Counted at the real Stripe stand-in, over HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from devstack.serving import AppServer
from devstack.stripe import Settings as StripeSettings
from devstack.stripe import create_app as create_stripe_app
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from tests.support.portal_harness import PORTAL_URL, portal_app

STRIPE_KEY = "sk_test_portal_onboarding_lookups"


class CountingRequests:
    """Counts every HTTP request the wrapped app (the Stripe stand-in) receives, by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths[scope["path"]] += 1
        await self.app(scope, receive, send)

    def session_lookups(self) -> int:
        return sum(n for path, n in self.paths.items() if path.startswith("/v1/checkout/sessions"))


@dataclass
class LookupStack:
    client: TestClient
    stripe: CountingRequests
    db_url: str


@pytest.fixture
def stack(db_url: str) -> Iterator[LookupStack]:
    stripe_app = CountingRequests(
        create_stripe_app(StripeSettings(secret_key=STRIPE_KEY, pay_wait_seconds=0.0))
    )
    with (
        AppServer(stripe_app, "stripe") as stripe_server,
        ServerThread(SupabaseSettings(database_url=db_url)) as supabase,
    ):
        app = portal_app(
            db_url, supabase.url, stripe_api_base=stripe_server.url, stripe_secret_key=STRIPE_KEY
        )
        with TestClient(app, base_url=PORTAL_URL, follow_redirects=False) as client:
            yield LookupStack(client, stripe_app, db_url)


def test_onboarding_with_a_random_session_id_makes_no_request_to_stripe(
    stack: LookupStack,
) -> None:
    forged = "cs_test_" + "a1" * 30
    page = stack.client.get(f"/onboarding?session_id={forged}")
    status = stack.client.get(f"/onboarding/status?session_id={forged}")

    # The same answers as for a session Stripe does not know…
    assert page.status_code == 404
    assert "Stripe does not know this checkout" in page.text
    assert status.status_code == 404
    assert status.json()["state"] == "unknown"
    # …without asking Stripe.
    assert stack.stripe.session_lookups() == 0, stack.stripe.paths


def test_onboarding_asks_stripe_about_a_session_the_site_issued(stack: LookupStack) -> None:
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute("select checkout_sessions_record('cs_test_issued_by_portal', 'starter')")

    status = stack.client.get("/onboarding/status?session_id=cs_test_issued_by_portal")

    # Issued by us but unknown to this Stripe stand-in: asked, and reported as unknown.
    assert status.json()["state"] == "unknown"
    assert stack.stripe.session_lookups() == 1
