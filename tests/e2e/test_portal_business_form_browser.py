"""The Business Info Form's helpers in real Chromium, at phone and desktop widths: a bad phone
number and a US ZIP code of "ABC" are caught in the browser with the server's words and
nothing is sent; UK, Canadian and Australian postcodes pass; the postcode's name and whether
it is needed follow the country; a closed day's time boxes are hidden, disabled and never
flagged; "Same hours every weekday" and "Copy Monday to all days" fill the week; a logo
survives a form the server sends back; the page fits 360, 390 and 1280 px without sideways
scrolling and axe-core finds nothing serious. One browser and one portal for the module."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from playwright.sync_api import Browser, Page, Request

from devstack import localdb
from devstack.serving import AppServer
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from tests.integration.test_portal_business import png
from tests.support.browser import (
    DESKTOP,
    PHONE,
    PHONE_WIDE,
    assert_fits_width,
    axe_violations,
    chromium,
    signed_in_context,
)
from tests.support.portal_harness import access_token, portal_app
from tests.support.ports import free_port

SAVE = "Save and start my submissions"


@dataclass
class Stack:
    url: str
    db_url: str
    browser: Browser

    def form(self, viewport: dict[str, int] = DESKTOP) -> tuple[Page, uuid.UUID]:
        """A new customer with a paid order, on its form."""
        email = f"form-{uuid.uuid4().hex[:8]}@example.com"
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            created = conn.execute(
                "select dev.create_paid_order(%s, 'starter', '{}'::jsonb)", (email,)
            ).fetchone()
            user = conn.execute(
                "select user_id from customers where email = %s", (email,)
            ).fetchone()
        assert created is not None
        assert user is not None
        context = signed_in_context(
            self.browser, self.url, access_token(user[0], email), viewport=viewport
        )
        page = context.new_page()
        page.goto(f"{self.url}/orders/{created[0]}/business")
        return page, created[0]


@pytest.fixture(scope="module")
def stack(cluster: None) -> Iterator[Stack]:
    db_url = localdb.fresh(f"pytest_{os.getpid()}_form_browser")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ServerThread(SupabaseSettings(database_url=db_url)) as supabase:
        app = portal_app(
            db_url, supabase.url, portal_url=url, stripe_api_base=f"http://127.0.0.1:{free_port()}"
        )
        with AppServer(app, "the portal", port=port), chromium() as browser:
            yield Stack(url, db_url, browser)


def error_of(page: Page, field: str) -> str | None:
    holder = page.locator(f"#{field}-error")
    return holder.inner_text() if holder.is_visible() else None


def sent_requests(page: Page) -> list[str]:
    sent: list[str] = []

    def record(request: Request) -> None:
        sent.append(f"{request.method} {request.url}")

    page.on("request", record)
    return sent


def fill_valid(page: Page) -> None:
    page.fill("#business_name", "Bluebird Bakery")
    page.select_option("#category", "bakery")
    page.fill("#street_address", "12 Orchard Lane")
    page.fill("#city", "Springfield")
    page.fill("#region", "IL")
    page.select_option("#country", "US")
    page.fill("#postal_code", "62701")
    page.fill("#phone", "(217) 555-0123")
    page.fill("#website", "bluebird-bakery.example")
    page.fill("#hours-mon-0-open", "07:00")
    page.fill("#hours-mon-0-close", "15:00")
    page.get_by_role("button", name="Copy Monday to all days").click()


def test_phone_and_postcode_are_checked_in_the_browser_before_anything_is_sent(
    stack: Stack,
) -> None:
    page, _ = stack.form()
    sent = sent_requests(page)
    page.select_option("#country", "US")
    assert page.locator("#postal_code-label").inner_text() == "ZIP code"

    # A number that does not exist in the US is flagged on leaving the field.
    page.fill("#phone", "(017) 555-0123")
    page.locator("#phone").blur()
    assert error_of(page, "phone") == (
        "This is not a valid phone number in United States: check the digits and the code"
    )
    assert page.locator("#phone").get_attribute("aria-invalid") == "true"
    page.fill("#phone", "phone me")
    page.locator("#phone").blur()
    assert error_of(page, "phone") == (
        "Enter a phone number, like (201) 555-0123 or +1 201-555-0123"
    )
    page.fill("#postal_code", "ABC")
    page.get_by_role("button", name=SAVE).click()
    assert error_of(page, "postal_code") == (
        "This is not a ZIP code used in United States: write it like 95014 or 22162-1010"
    )
    assert error_of(page, "phone") is not None
    page.fill("#postal_code", "")
    page.get_by_role("button", name=SAVE).click()
    assert error_of(page, "postal_code") == "Enter the ZIP code"

    # Other countries: their own name for it, their formats, their numbers.
    for country, postcode, phone, label in (
        ("GB", "SW1A 1AA", "020 7946 0958", "Postal code"),
        ("CA", "K1A 0B1", "(613) 555-0100", "Postal code"),
        ("AU", "2060", "02 9374 4000", "Postal code"),
        ("IN", "110001", "+91 74104 10123", "PIN code"),
    ):
        page.select_option("#country", country)
        page.fill("#postal_code", postcode)
        page.fill("#phone", phone)
        page.locator("#phone").blur()
        page.get_by_role("button", name=SAVE).click()
        assert page.locator("#postal_code-label").inner_text() == label, country
        assert (error_of(page, "postal_code"), error_of(page, "phone")) == (None, None), country
    page.fill("#postal_code", "2060X")
    page.get_by_role("button", name=SAVE).click()
    assert error_of(page, "postal_code") == (
        "This is not a PIN code used in India: write it like 110034 or 110001"
    )
    # No postcodes in the United Arab Emirates: optional, and none is asked for.
    page.select_option("#country", "AE")
    page.fill("#postal_code", "")
    page.get_by_role("button", name=SAVE).click()
    assert page.locator("#postal_code-label").inner_text() == "Postal code (optional)"
    assert error_of(page, "postal_code") is None
    assert sent == [], "the browser sent the form (or asked the server) while it had errors"


def test_closed_days_are_never_flagged_and_monday_can_be_copied_to_the_week(
    stack: Stack,
) -> None:
    page, order_id = stack.form(PHONE_WIDE)
    page.locator("#hours-sat-closed").check()
    page.locator("#hours-sun-closed").check()
    page.get_by_role("button", name=SAVE).click()
    for day in ("sat", "sun"):
        boxes = page.locator(f"#hours-{day} input[type=time]")
        assert boxes.count() == 6
        for n in range(6):
            assert boxes.nth(n).is_hidden(), day
            assert boxes.nth(n).is_disabled(), day
            assert boxes.nth(n).get_attribute("aria-invalid") is None, day
        assert error_of(page, f"hours-{day}") is None
    assert page.locator("#hours-mon input[aria-invalid=true]").count() == 6
    # Every day closed: the week's error is shown, but no hidden box is flagged.
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.locator(f"#hours-{day}-closed").check()
    page.get_by_role("button", name=SAVE).click()
    assert error_of(page, "hours-mon") == "Enter the opening hours of at least one day"
    assert page.locator("#hours input[aria-invalid=true]").count() == 0
    assert page.locator("#error-summary a[href='#hours-mon-closed']").count() == 1

    # Monday, then the shortcuts.
    page.locator("#hours-mon-closed").uncheck()
    page.fill("#hours-mon-0-open", "08:00")
    page.fill("#hours-mon-0-close", "12:00")
    page.fill("#hours-mon-1-open", "13:00")
    page.fill("#hours-mon-1-close", "17:30")
    page.get_by_role("button", name="Same hours every weekday").click()
    assert page.locator("#hours-copy-status").inner_text() == (
        "Monday's hours copied to Tuesday, Wednesday, Thursday and Friday."
    )
    for day in ("tue", "wed", "thu", "fri"):
        assert not page.locator(f"#hours-{day}-closed").is_checked()
        assert page.input_value(f"#hours-{day}-1-close") == "17:30", day
        assert error_of(page, f"hours-{day}") is None
    assert page.locator("#hours-sat-closed").is_checked()
    page.get_by_role("button", name="Copy Monday to all days").click()
    assert page.input_value("#hours-sun-0-open") == "08:00"
    assert page.locator("#hours-sun-0-open").is_visible()
    assert_fits_width(page)

    # And the week arrives as entered.
    page.fill("#hours-mon-1-open", "")
    page.fill("#hours-mon-1-close", "")
    fill_valid(page)
    page.locator("#hours-sun-closed").check()
    with page.expect_navigation():
        page.get_by_role("button", name=SAVE).click()
    assert re.search(r"/jobs/[0-9a-f-]{36}$", page.url), page.url
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select business_snapshot -> 'hours' from jobs where order_id = %s", (order_id,)
        ).fetchone()
    assert row is not None
    assert row[0]["sun"] == []
    assert row[0]["sat"] == [{"open": "07:00", "close": "15:00"}]


def test_a_logo_is_kept_when_the_server_sends_the_form_back(stack: Stack) -> None:
    page, order_id = stack.form(PHONE)
    image = png(2, 2)
    fill_valid(page)
    page.fill("#business_name", "")
    logo = {"name": "bluebird.png", "mimeType": "image/png", "buffer": image}
    page.set_input_files("#logo", logo)  # type: ignore[arg-type]
    # form.submit() skips the browser's checks: the server's refusal page.
    with page.expect_navigation():
        page.evaluate("document.getElementById('business-form').submit()")
    assert error_of(page, "business_name") == "Enter the business name"
    assert "Logo kept: bluebird.png" in page.locator("#held-logo-note").inner_text()
    assert page.locator("#held-logo img").evaluate("img => img.naturalWidth") == 2
    assert page.is_visible("label[for=drop_held_logo]")
    assert_fits_width(page)
    assert axe_violations(page) == []

    page.fill("#business_name", "Bluebird Bakery")
    with page.expect_navigation():
        page.get_by_role("button", name=SAVE).click()
    assert re.search(r"/jobs/[0-9a-f-]{36}$", page.url), page.url
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select l.content from jobs j join customer_logos l"
            " on j.business_snapshot ->> 'logo_url' like '%%/logos/' || l.id || '.png'"
            " where j.order_id = %s",
            (order_id,),
        ).fetchone()
    assert row is not None
    assert bytes(row[0]) == image


def test_the_form_fits_360_390_and_1280_px_and_stays_accessible(stack: Stack) -> None:
    page, _ = stack.form(DESKTOP)
    assert_fits_width(page)
    assert axe_violations(page) == []
    # With every error showing, at each width.
    page.select_option("#country", "US")
    page.fill("#phone", "12")
    page.fill("#postal_code", "ABC")
    page.get_by_role("button", name=SAVE).click()
    assert page.locator("#error-summary").is_visible()
    for viewport in (DESKTOP, PHONE_WIDE, PHONE):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        assert_fits_width(page)
    assert axe_violations(page) == []
