"""The customer journey's services wired together as real processes (tests/support/e2e_stack.py with
journey=True, as `make up` wires them): a checkout through the Supabase gateway's Edge
Function, paid on the Stripe stand-in's hosted page, reaches the webhook receiver as a signed
event, becomes a paid order, and the payment email (with its portal link) lands in the mail
catcher; the Auth stand-in mails sign-in codes there too. Plus `make up`'s plan itself."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from devstack import functions, up
from tests.support.e2e_stack import running_stack

pytestmark = pytest.mark.slow

BUYER = "owner@wired-bakery.example"


def test_checkout_payment_webhook_order_and_email_flow_through_the_wired_stack(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path, journey=True) as stack:
        for name, path in (
            ("portal", "/healthz"),
            ("webhook", "/healthz"),
            ("mail", "/api/messages"),
            ("orchestrator", "/healthz"),
        ):
            assert httpx.get(stack.url(name) + path, timeout=10).status_code == 200, name

        # The browser's path, minus the browser: the Edge Function through the gateway …
        created = httpx.post(
            stack.url("supabase") + "/functions/v1/checkout",
            json={"tier": "growth", "email": BUYER},
            headers={"apikey": stack.anon_key, "Authorization": f"Bearer {stack.anon_key}"},
            timeout=15,
        )
        assert created.status_code == 200, created.text
        checkout_url = created.json()["url"]
        session_id = created.json()["id"]
        assert checkout_url.startswith(stack.url("stripe") + "/checkout/")

        # … Pay on the hosted page, which redirects to the portal's onboarding page …
        paid = httpx.post(checkout_url + "/pay", data={"outcome": "card"}, timeout=30)
        assert paid.status_code == 303
        assert paid.headers["location"] == (
            f"{stack.portal_url}/onboarding?session_id={session_id}"
        )

        # … the signed webhook made the paid order …
        with psycopg.connect(stack.db_url, autocommit=True) as conn:
            order = None
            for _ in range(100):
                order = conn.execute(
                    "select o.status::text, o.tier::text from orders o"
                    " join customers c on c.id = o.customer_id where c.email = %s",
                    (BUYER,),
                ).fetchone()
                if order:
                    break
                conn.execute("select pg_sleep(0.1)")
        assert order == ("paid", "growth"), stack.log("webhook")[-3000:]

        # … and the notifier mailed the buyer a sign-in link to the portal.
        message = stack.wait_for_mail(BUYER, "payment received")
        portal_links = [link for link in message["links"] if link.startswith(stack.portal_url)]
        assert portal_links, message["links"]
        confirm = urlsplit(portal_links[0])
        assert confirm.path == "/auth/confirm"
        assert parse_qs(confirm.query)["next"][0].startswith("/orders/")

        # The Auth stand-in mails through the same catcher, with links to the portal.
        otp = httpx.post(
            stack.url("supabase") + "/auth/v1/otp",
            json={"email": "staff@wired.example", "create_user": True},
            headers={"apikey": stack.anon_key},
            timeout=10,
        )
        assert otp.status_code == 200, otp.text
        sign_in = stack.wait_for_mail("staff@wired.example")
        assert re.search(r"\b\d{6}\b", sign_in["text"])


def test_make_up_plans_every_service_with_the_functions_behind_the_gateway() -> None:
    planned, skipped = up.services()
    by_name = {service.name: service for service in planned}
    names = list(by_name)

    assert names.index("functions") < names.index("supabase")
    for name in ("mail", "stripe", "functions", "supabase", "orchestrator", "worker-1"):
        assert name in by_name
    # webhook/ and portal/ exist in this tree, so nothing is skipped.
    assert skipped == []
    assert names[-2:] == ["webhook", "portal"]

    supabase = by_name["supabase"]
    assert isinstance(supabase, up.Process)
    upstreams = functions.parse_upstreams(supabase.env[functions.UPSTREAMS_ENV])
    assert set(upstreams) == set(functions.discover())
    assert upstreams["checkout"] == f"http://127.0.0.1:{up.FUNCTIONS_PORT_BASE}"
    assert supabase.env["SMTP_URL"] == up.SMTP_URL
    assert supabase.env["GOTRUE_SITE_URL"] == up.PORTAL_URL

    stripe = by_name["stripe"]
    assert isinstance(stripe, up.Process)
    assert f"http://127.0.0.1:{up.WEBHOOK_PORT}/stripe/webhook" in stripe.args

    edge = by_name["functions"]
    assert isinstance(edge, up.EdgeFunctionsService)
    assert edge.secrets["STRIPE_API_BASE"] == up.STRIPE_API_BASE
    assert edge.secrets["PORTAL_URL"] == up.PORTAL_URL
    assert {
        f"STRIPE_PRICE_{t}" for t in ("STARTER", "GROWTH", "PROFESSIONAL", "ENTERPRISE")
    } <= set(edge.secrets)
    assert "SUPABASE_SERVICE_ROLE_KEY" not in edge.secrets
    # The function signs sessions with the secret the webhook verifies them with.
    webhook = by_name["webhook"]
    assert isinstance(webhook, up.Process)
    assert edge.secrets["CHECKOUT_SIGNING_SECRET"] == webhook.env["CHECKOUT_SIGNING_SECRET"]
    # The mail catcher forwards the campaign mailboxes' mail to the webhook, Mailgun-style.
    mail = by_name["mail"]
    assert isinstance(mail, up.Process)
    inbound = f"http://127.0.0.1:{up.WEBHOOK_PORT}/inbound/mailgun"
    assert mail.env["INBOUND_WEBHOOK_URL"] == inbound


def test_make_up_skips_a_service_whose_package_is_not_there_yet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "__main__.py").write_text("")
    monkeypatch.setattr(up, "ROOT", tmp_path)
    planned, skipped = up.services()

    assert [name for name, _ in skipped] == ["webhook"]
    assert "webhook/__main__.py" in skipped[0][1]
    assert "webhook" not in {service.name for service in planned}
    assert "portal" in {service.name for service in planned}
