"""Login CSRF in real Chromium (issue 10 item 6): another site tries to sign a visitor in to
an account of its choosing with a sign-in link (token_hash) or a checkout return link
(session_id). Navigating there only shows a page with a button; the other site's own
auto-submitting form is refused; no session cookie appears and neither link is used up.

The portal and the "other site" are both served by uvicorn on loopback ports (different
ports are different origins), against the real Auth stand-in and the test's database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from supabase_auth import SyncGoTrueAdminAPI

from devstack import jwt_keys
from devstack.serving import AppServer
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal.auth.cookies import ACCESS_COOKIE
from tests.support.portal_harness import portal_app
from tests.support.ports import free_port

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/lib/chromium/chromium"


@dataclass
class Sites:
    portal: str
    evil: str
    supabase: str
    db_url: str
    pages: dict[str, str]

    def token_hash(self, email: str) -> str:
        key = jwt_keys.mint_api_key("service_role")
        api = SyncGoTrueAdminAPI(
            url=f"{self.supabase}/auth/v1",
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
        )
        hashed: str = api.generate_link(
            {"type": "magiclink", "email": email}
        ).properties.hashed_token
        return hashed

    def paid_order(self, email: str) -> tuple[str, str]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            created = conn.execute(
                "select dev.create_paid_order(%s, 'starter', '{}')", (email,)
            ).fetchone()
            assert created is not None
            row = conn.execute(
                "select id::text, stripe_checkout_session_id from orders where id = %s",
                (created[0],),
            ).fetchone()
        assert row is not None
        return row[0], row[1]

    def claimed(self, order_id: str) -> bool:
        with psycopg.connect(self.db_url) as conn:
            row = conn.execute(
                "select onboarding_signed_in_at is not null from orders where id = %s::uuid",
                (order_id,),
            ).fetchone()
        assert row is not None
        return bool(row[0])


def _evil_app(pages: dict[str, str]) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(pages[request.path_params["name"]])

    return Starlette(routes=[Route("/{name}", page)])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def sites(db_url: str) -> Iterator[Sites]:
    pages: dict[str, str] = {}
    with (
        ServerThread(SupabaseSettings(database_url=db_url)) as supabase,
        AppServer(_evil_app(pages), "other site") as evil,
    ):
        # The portal's own URL must be known before it starts: pick its port first.
        port = free_port()
        portal_url = f"http://127.0.0.1:{port}"
        app = portal_app(db_url, supabase.url, portal_url=portal_url)
        with AppServer(app, "portal", port=port):
            yield Sites(portal_url, evil.url, supabase.url, db_url, pages)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context()
    yield made
    made.close()


def _auto_post(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (
        f'<form method="post" action="{escape(action)}">{inputs}</form>'
        "<script>document.forms[0].submit()</script>"
    )


def _cookies(context: BrowserContext) -> set[str]:
    return {cookie["name"] for cookie in context.cookies()}


def test_another_site_cannot_sign_a_visitor_in_with_a_token_hash_link(
    sites: Sites, context: BrowserContext
) -> None:
    sites.paid_order("attacker@example.com")
    hashed = sites.token_hash("attacker@example.com")
    fields = {"token_hash": hashed, "type": "magiclink", "next": "/account"}
    link = f"{sites.portal}/auth/confirm?{urlencode(fields)}"
    sites.pages["navigate"] = f'<img src="{escape(link)}"><script>location = {link!r}</script>'
    sites.pages["post"] = _auto_post(f"{sites.portal}/auth/confirm", fields)
    page = context.new_page()

    # A cross-site navigation (and an <img> fetching it): only the page with its button.
    page.goto(f"{sites.evil}/navigate")
    page.wait_for_url(f"{sites.portal}/auth/confirm?*")
    assert page.get_by_role("button", name="Sign in").is_visible()
    assert ACCESS_COOKIE not in _cookies(context)

    # The other site's auto-submitting form: refused.
    with page.expect_response(f"{sites.portal}/auth/confirm") as answered:
        page.goto(f"{sites.evil}/post")
    assert answered.value.status == 403
    assert ACCESS_COOKIE not in _cookies(context)

    # Nothing used the link up: its own page's button still signs in.
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{sites.portal}/account")
    assert ACCESS_COOKIE in _cookies(context)


def test_another_site_cannot_sign_a_visitor_in_with_a_checkout_return_link(
    sites: Sites, context: BrowserContext
) -> None:
    order_id, session_id = sites.paid_order("attacker-buyer@example.com")
    link = f"{sites.portal}/onboarding?{urlencode({'session_id': session_id})}"
    sites.pages["navigate"] = f"<script>location = {link!r}</script>"
    sites.pages["post"] = _auto_post(f"{sites.portal}/onboarding", {"session_id": session_id})
    page = context.new_page()

    page.goto(f"{sites.evil}/navigate")
    page.wait_for_url(f"{sites.portal}/onboarding?*")
    button = page.get_by_role("button", name="Continue to your business details")
    assert button.is_visible()
    assert ACCESS_COOKIE not in _cookies(context)

    with page.expect_response(f"{sites.portal}/onboarding") as answered:
        page.goto(f"{sites.evil}/post")
    assert answered.value.status == 403
    assert ACCESS_COOKIE not in _cookies(context)
    assert not sites.claimed(order_id), "the one sign-in was used up by another site"

    page.goto(link)
    page.get_by_role("button", name="Continue to your business details").click()
    page.wait_for_url(f"{sites.portal}/orders/{order_id}/business")
    assert ACCESS_COOKIE in _cookies(context)
