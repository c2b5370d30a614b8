"""Harness (no tests here): the webhook receiver with everything it talks to, all real and
on loopback ports: a fresh migrated database, the Stripe stand-in (signed webhooks,
retries), the Auth stand-in (generate_link, verify) and the mail catcher (SMTP + JSON API).
Shared by the webhook and notification tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
import stripe
from pydantic import SecretStr
from stripe.checkout import Session

from dbolt import checkout_proof
from devstack import jwt_keys
from devstack.mailcatcher import MailCatcher
from devstack.serving import AppServer
from devstack.stripe import Settings as StripeSettings
from devstack.stripe import create_app as create_stripe_app
from devstack.supabase_api import Settings as SupabaseSettings
from devstack.supabase_api.auth_settings import AuthSettings
from devstack.supabase_api.server import ServerThread
from tests.support.ports import free_port
from webhook.app import create_app
from webhook.settings import WebhookSettings

STRIPE_KEY = "sk_test_webhook_tests_key"
WHSEC = "whsec_webhook_tests_secret"
# What our checkout Edge Function signs its sessions with (dbolt/checkout_proof.py).
CHECKOUT_SECRET = "checkout_signing_tests_secret"
PORTAL_URL = "http://127.0.0.1:8300"
DEADLINE = 30.0
T = TypeVar("T")


def wait_for(probe: Callable[[], T | bool | None], what: str, deadline: float = DEADLINE) -> T:
    """Polls `probe` until it returns something truthy; never a fixed sleep."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Stack:
    db_url: str
    conn: psycopg.Connection[Any]
    webhook: AppServer
    stripe_server: AppServer
    stripe: stripe.StripeClient
    stripe_admin: httpx.Client
    auth: ServerThread
    mail: MailCatcher
    mail_api: httpx.Client

    @property
    def webhook_url(self) -> str:
        return f"{self.webhook.url}/stripe/webhook"

    def scalar(self, sql: str, *params: Any) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def checkout(self, email: str, tier: str = "starter") -> Session:
        """A session made exactly as our checkout Edge Function makes one: created, then
        signed (its Deno tests pin the same requests and the same proof)."""
        price = f"price_{tier}_local"
        session = self.stripe.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [{"price": price, "quantity": 1}],
                "success_url": f"{PORTAL_URL}/onboarding?session_id={{CHECKOUT_SESSION_ID}}",
                "customer_email": email,
                "metadata": {"tier": tier, "price": price},
            }
        )
        proof = checkout_proof.sign(session.id, tier, price, CHECKOUT_SECRET)
        return self.stripe.v1.checkout.sessions.update(
            session.id, params={"metadata": {"checkout_proof": proof}}
        )

    def pay(self, session_id: str) -> dict[str, Any]:
        answer = self.stripe_admin.post(f"/_admin/sessions/{session_id}/pay", json={})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def order(self, session_id: str) -> dict[str, Any] | None:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute(
                "select o.*, o.status::text as status_text, c.email, c.user_id"
                "  from orders o join customers c on c.id = o.customer_id"
                " where o.stripe_checkout_session_id = %s",
                (session_id,),
            ).fetchone()

    def paid_order(self, email: str) -> dict[str, Any]:
        session = self.checkout(email)
        self.pay(session.id)
        return wait_for(lambda: self.order(session.id), f"the order of {session.id}")

    def mails(self, to: str) -> list[dict[str, Any]]:
        listed = self.mail_api.get("/api/messages", params={"to": to}).json()["messages"]
        return [self.mail_api.get(f"/api/messages/{m['id']}").json() for m in listed]

    def wait_mails(self, to: str, count: int, deadline: float = DEADLINE) -> list[dict[str, Any]]:
        def enough() -> list[dict[str, Any]] | None:
            found = self.mails(to)
            return found if len(found) >= count else None

        return wait_for(enough, f"{count} email(s) to {to}", deadline)


def webhook_settings(
    db_url: str, auth_url: str, smtp_url: str, **overrides: Any
) -> WebhookSettings:
    values: dict[str, Any] = {
        "database_url": SecretStr(db_url),
        "stripe_webhook_secret": SecretStr(WHSEC),
        "checkout_signing_secret": SecretStr(CHECKOUT_SECRET),
        "supabase_url": auth_url,
        "supabase_service_role_key": SecretStr(jwt_keys.mint_api_key("service_role")),
        "smtp_url": SecretStr(smtp_url),
        "portal_url": PORTAL_URL,
        "notifier_poll_seconds": 0.2,
        "notifier_retry_base_seconds": 1,
        "db_pool_max_size": 8,
    }
    return WebhookSettings(**(values | overrides))


@pytest.fixture
def stack(db_url: str) -> Iterator[Stack]:
    with MailCatcher(smtp_port=free_port()) as mail:
        auth_settings = AuthSettings(
            smtp_url=mail.smtp_url, site_url=PORTAL_URL, email_max_frequency_seconds=0.0
        )
        with (
            ServerThread(SupabaseSettings(database_url=db_url, auth=auth_settings)) as auth,
            AppServer(
                create_app(webhook_settings(db_url, auth.url, mail.smtp_url)), "the webhook"
            ) as webhook,
        ):
            stripe_settings = StripeSettings(
                secret_key=STRIPE_KEY,
                webhook_secret=WHSEC,
                webhook_urls=(f"{webhook.url}/stripe/webhook",),
                retry_base_seconds=0.2,
                max_attempts=4,
                attempt_timeout_seconds=10.0,
                pay_wait_seconds=5.0,
            )
            with (
                AppServer(create_stripe_app(stripe_settings), "the Stripe stand-in") as stripe_srv,
                httpx.Client(base_url=stripe_srv.url, timeout=30, trust_env=False) as admin,
                httpx.Client(base_url=mail.http_url, timeout=10, trust_env=False) as mail_api,
                psycopg.connect(db_url, autocommit=True) as conn,
            ):
                client = stripe.StripeClient(
                    STRIPE_KEY, base_addresses={"api": stripe_srv.url}, max_network_retries=0
                )
                yield Stack(db_url, conn, webhook, stripe_srv, client, admin, auth, mail, mail_api)


def use_directories(conn: psycopg.Connection[Any], *ids: str) -> None:
    """Only these (starter, auto) directories are enabled: jobs stay small."""
    entries = [
        {
            "id": directory_id,
            "name": f"Directory {directory_id}",
            "homepage": f"http://127.0.0.1:9/{directory_id}",
            "tier": "starter",
            "priority": position,
            "mode": "auto",
            "enabled": True,
        }
        for position, directory_id in enumerate(ids, start=1)
    ]
    conn.execute("select directories_sync(%s::jsonb)", (psycopg.types.json.Jsonb(entries),))


def fill_business(conn: psycopg.Connection[Any], customer_id: Any) -> None:
    """The Business Info Form, filled with the seed's sample business (as the portal saves it)."""
    conn.execute(
        """
        update customers c set business_name = b ->> 'business_name',
               street_address = b ->> 'street_address', city = b ->> 'city',
               region = b ->> 'region', postal_code = b ->> 'postal_code',
               country = b ->> 'country', phone = b ->> 'phone', website = b ->> 'website',
               category = b ->> 'category', hours = b -> 'hours',
               public_email = b ->> 'public_email',
               attributes = coalesce(b -> 'attributes', '{}')
          from (select dev.sample_business() as b) s
         where c.id = %s
        """,
        (customer_id,),
    )
