"""The campaign mailbox page in real Chromium at phone width (390 px): the address and a long
verification mail read without sideways scrolling, a mail opens to its text, and axe-core
finds no serious or critical accessibility violations."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from portal.auth.cookies import ACCESS_COOKIE
from tests.e2e.test_review_queue_browser import CHROMIUM, PHONE, overflows, serious_violations
from tests.support.portal_harness import PortalStack
from tests.support.portal_jobs import served_portal

LONG_LINK = "https://www.listings-one.example/verify?token=" + "a1b2c3d4" * 20


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--disable-gpu", "--disable-quic"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_mailbox_reads_on_a_phone(portal_stack: PortalStack, browser: Browser) -> None:
    dana = portal_stack.customer("dana@example.com")
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        conn.execute("select jobs_enqueue(%s)", (dana.order_id,))
        (local,) = conn.execute("select local_part from customer_mailboxes").fetchone() or ("",)
        conn.execute(
            "select inbound_emails_receive('mailgun', '<1@listings-one.example>', %s,"
            " 'noreply@listings-one.example', 'Confirm your Listings One account', %s, '')",
            (local, f"Hello,\n\nconfirm your account: {LONG_LINK}\n\nYour code is 424242.\n"),
        )
    with served_portal(portal_stack) as (url, _):
        context = browser.new_context(viewport=PHONE)  # type: ignore[arg-type]
        context.add_cookies(
            [{"name": ACCESS_COOKIE, "value": dana.cookies[ACCESS_COOKIE], "url": url}]
        )
        page = context.new_page()
        page.goto(f"{url}/mailbox")

        expect(page.get_by_role("heading", name="Campaign mailbox")).to_be_visible()
        expect(page.get_by_text(local)).to_be_visible()
        page.get_by_text("Confirm your Listings One account").click()
        expect(page.get_by_text("Your code is 424242.")).to_be_visible()
        assert not overflows(page), "the mailbox scrolls sideways on a phone"
        assert serious_violations(page) == []
        context.close()
