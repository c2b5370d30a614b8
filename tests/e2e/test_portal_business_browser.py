"""The customer pages in real Chromium (Playwright) against the portal served over HTTP: the
Business Info Form's client-side validation (same messages as the server, shown next to each
field with aria-invalid / aria-describedby, nothing sent while anything is wrong), a valid
form submitted through the browser, and axe-core on every customer page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from dbolt.business import PUBLIC_EMAIL_MESSAGE
from devstack.serving import AppServer
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal.auth.cookies import ACCESS_COOKIE
from tests.support.browser import axe_violations
from tests.support.portal_harness import access_token, portal_app
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"


@dataclass
class BrowserStack:
    url: str
    db_url: str
    browser: Browser

    def customer_page(self, email: str, business: str = "{}") -> tuple[Page, uuid.UUID]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            created = conn.execute(
                "select dev.create_paid_order(%s, 'starter', %s::jsonb)", (email, business)
            ).fetchone()
            assert created is not None
            user = conn.execute(
                "select user_id from customers where email = %s", (email,)
            ).fetchone()
        assert user is not None
        context = self.browser.new_context()
        context.add_cookies(
            [{"name": ACCESS_COOKIE, "value": access_token(user[0], email), "url": self.url}]
        )
        return context.new_page(), created[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def stack(db_url: str, browser: Browser) -> Iterator[BrowserStack]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ServerThread(SupabaseSettings(database_url=db_url)) as supabase:
        app = portal_app(
            db_url,
            supabase.url,
            portal_url=url,
            # Nothing listens here: the pages must still render without Stripe.
            stripe_api_base=f"http://127.0.0.1:{free_port()}",
        )
        with AppServer(app, "the portal", port=port):
            yield BrowserStack(url, db_url, browser)


def error_of(page: Page, field: str) -> str:
    holder = page.locator(f"#{field}-error")
    assert holder.is_visible(), f"no visible error for {field}"
    return holder.inner_text()


def test_client_side_validation_shows_each_error_next_to_its_field_and_sends_nothing(
    stack: BrowserStack,
) -> None:
    page, order_id = stack.customer_page("alice@example.com")
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    page.goto(f"{stack.url}/orders/{order_id}/business")
    page.locator("#hours-sat-closed").check()
    page.locator("#hours-sun-closed").check()
    page.get_by_role("button", name="Save and start my submissions").click()

    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert posts == [], "the form was sent although it had errors"
    expected = {
        "business_name": "Enter the business name",
        "category": "Choose the category",
        "street_address": "Enter the street address",
        "city": "Enter the city or town",
        "region": "Enter the state, county or region",
        # No postcode is asked for until the country says whether it uses them.
        "country": "Choose the country",
        "phone": "Enter the phone number",
        "website": "Enter the website",
        **{
            f"hours-{day}": f"{label}: enter the opening hours or tick Closed"
            for day, label in (
                ("mon", "Monday"),
                ("tue", "Tuesday"),
                ("wed", "Wednesday"),
                ("thu", "Thursday"),
                ("fri", "Friday"),
            )
        },
    }
    for field, message in expected.items():
        assert error_of(page, field) == message
    assert page.locator("#hours-sat-error").is_hidden()
    assert page.locator("#business_name").get_attribute("aria-invalid") == "true"
    assert "business_name-error" in (
        page.locator("#business_name").get_attribute("aria-describedby") or ""
    )
    assert "hours-mon-error" in (
        page.locator("#hours-mon-0-open").get_attribute("aria-describedby") or ""
    )
    assert summary.locator("a").first.get_attribute("href") == "#business_name"
    assert summary.locator("h2").inner_text() == f"Please correct {len(expected)} fields"

    # Fill in some fields badly: the messages are the server's.
    page.fill("#business_name", "B")
    page.fill("#postal_code", "62701!")
    page.select_option("#country", "US")
    page.fill("#phone", "12")
    page.fill("#website", "javascript:alert(1)")
    page.fill("#hours-mon-0-open", "09:00")
    page.fill("#hours-tue-0-open", "18:00")
    page.fill("#hours-tue-0-close", "09:00")
    page.fill("#social-facebook", "https://evil.example/page")
    page.fill("#public_email", "hello at bakery")
    page.evaluate("document.getElementById('tagline').value = 't'.repeat(161)")
    page.get_by_role("button", name="Save and start my submissions").click()
    assert posts == []
    assert error_of(page, "business_name") == "The business name must be at least 2 characters"
    assert (
        error_of(page, "postal_code")
        == "The ZIP code may only contain letters, digits, spaces and hyphens"
    )
    assert page.locator("#country-error").is_hidden()
    assert page.locator("#country").get_attribute("aria-invalid") is None
    assert error_of(page, "phone") == (
        "This is not a valid phone number in United States: check the digits and the code"
    )
    assert error_of(page, "website") == "The website address must start with http:// or https://"
    assert error_of(page, "hours-mon") == "Monday: enter both an opening and a closing time"
    assert error_of(page, "hours-tue") == "Tuesday: the closing time must be after the opening time"
    assert error_of(page, "tagline") == "The tagline must be at most 160 characters (it has 161)"
    assert error_of(page, "public_email") == PUBLIC_EMAIL_MESSAGE
    assert (
        error_of(page, "social-facebook")
        == "The Facebook address must be on facebook.com or fb.com"
    )


def fill_valid(page: Page) -> None:
    page.fill("#business_name", "Bluebird Bakery")
    page.select_option("#category", "bakery")
    page.fill("#street_address", "12 Orchard Lane")
    page.fill("#city", "Springfield")
    page.fill("#region", "IL")
    page.fill("#postal_code", "62701")
    page.select_option("#country", "US")
    page.fill("#phone", "(217) 555-0123")
    page.fill("#website", "Bluebird-Bakery.example")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.fill(f"#hours-{day}-0-open", "07:00")
        page.fill(f"#hours-{day}-0-close", "15:00")
    page.locator("#hours-sat-closed").check()
    page.locator("#hours-sun-closed").check()


def test_a_valid_form_goes_through_the_browser_to_the_job_page(stack: BrowserStack) -> None:
    page, order_id = stack.customer_page("bob@example.com")
    page.goto(f"{stack.url}/orders/{order_id}/business")
    fill_valid(page)
    # The server stays the authority: a number the browser leaves to it (full-width digits,
    # not read in the browser) that does not exist in the US is refused there.
    full_width = {ord(c): ord(c) + 0xFEE0 for c in "0123456789()-"}
    page.fill("#phone", "(017) 555-0123".translate(full_width))
    with page.expect_navigation():
        page.get_by_role("button", name="Save and start my submissions").click()
    assert "not a valid phone number in United States" in error_of(page, "phone")
    assert page.locator("#business_name").input_value() == "Bluebird Bakery"

    fill_valid(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Save and start my submissions").click()
    assert re.search(r"/jobs/[0-9a-f-]{36}$", page.url), page.url
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select status::text, business_snapshot ->> 'phone' from jobs where order_id = %s",
            (order_id,),
        ).fetchone()
    assert row == ("pending", "+12175550123")


def test_the_public_email_and_attributes_go_through_the_browser_into_the_snapshot(
    stack: BrowserStack,
) -> None:
    page, order_id = stack.customer_page("carol.signin@example.com")
    page.goto(f"{stack.url}/orders/{order_id}/business")
    fill_valid(page)
    page.fill("#public_email", "Hello@Bluebird-Bakery.example")
    page.select_option("#attr-storefront", "yes")
    page.select_option("#attr-takeaway", "no")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and start my submissions").click()
    assert re.search(r"/jobs/[0-9a-f-]{36}$", page.url), page.url
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select business_snapshot from jobs where order_id = %s", (order_id,)
        ).fetchone()
    assert row is not None
    snapshot = row[0]
    assert snapshot["public_email"] == "hello@bluebird-bakery.example"
    assert snapshot["attributes"] == {"storefront": True, "takeaway": False}
    assert "carol.signin@example.com" not in str(snapshot)


def test_customer_pages_have_no_serious_accessibility_violations(stack: BrowserStack) -> None:
    page, order_id = stack.customer_page("carol@example.com")
    visitor = stack.browser.new_context().new_page()
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        # Started through the portal, so onboarding waits for it (an id the site never
        # issued is answered "unknown" without asking Stripe).
        conn.execute("select checkout_sessions_record('cs_test_not_recorded_yet', 'starter')")
    pages: list[tuple[Page, str]] = [
        (visitor, "/pricing"),
        (visitor, "/pricing?cancelled=1"),
        (visitor, "/sign-in?next=/account"),
        (visitor, "/sign-in/code?email=carol@example.com&next=/account"),
        (visitor, "/onboarding?session_id=cs_test_not_recorded_yet"),
        (page, f"/orders/{order_id}/business"),
        (page, "/account"),
    ]
    problems: dict[str, list[dict[str, Any]]] = {}
    for tab, path in pages:
        response = tab.goto(f"{stack.url}{path}")
        assert response is not None
        assert response.status == 200, path
        found = axe_violations(tab)
        if found:
            problems[path] = found

    # The form with every error showing, client-side and then server-side.
    page.goto(f"{stack.url}/orders/{order_id}/business")
    page.get_by_role("button", name="Save and start my submissions").click()
    if found := axe_violations(page):
        problems["form with client-side errors"] = found
    # form.submit() skips the submit handler: the server's own refusal page.
    with page.expect_navigation():
        page.evaluate("document.getElementById('business-form').submit()")
    assert page.locator("#business_name-error").is_visible()
    if found := axe_violations(page):
        problems["form with server-side errors"] = found
    bad_code = visitor.goto(f"{stack.url}/sign-in/code")
    assert bad_code is not None
    visitor.fill("#email", "carol@example.com")
    visitor.fill("#code", "12")
    with visitor.expect_navigation():
        visitor.get_by_role("button", name="Sign in").click()
    if found := axe_violations(visitor):
        problems["code form with an error"] = found
    assert problems == {}
