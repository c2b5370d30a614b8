"""Every email we send, as a phone shows it: the notifier sends each kind for real (payment
received, job started, action needed, reminder, report ready; and Auth its sign-in mail)
into the mail catcher; each message's HTML part is opened on its own from the catcher in
Chromium at 360 and 390 px and must not scroll sideways, and so must the catcher's own inbox
and message pages. The headers
are checked in the catcher: every mail has a Date and its own Message-ID, and only reminders
carry List-Unsubscribe and List-Unsubscribe-Post. The unsubscribe page the reminder links to
fits a phone and a desktop, is axe-clean, and its button stops the reminders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack import jwt_keys
from devstack.serving import AppServer
from tests.integration.test_notifications import report
from tests.integration.test_reminders_stop_when_done import age_sent_emails, queue_reminders
from tests.support.browser import (
    DESKTOP,
    PHONE,
    PHONE_WIDE,
    assert_fits_width,
    axe_violations,
    chromium,
)
from tests.support.portal_harness import portal_app
from tests.support.webhook_harness import Stack, fill_business, stack, use_directories

__all__ = ["stack"]  # the fixture, imported for pytest

EMAIL = "phone@example.com"
# What a directory asks of the customer can be long, with a long unbroken URL in it.
LONG_ACTION = (
    "Click the confirmation link Directory dir-b emailed you: https://listings.example/verify"
    "?account=bluebird-bakery-and-coffee-house&token=" + "f00dcafe" * 12
)
KINDS = {
    "Payment received — tell us about your business": "payment_received",
    "We have started submitting Bluebird Bakery": "job_started",
    "Action needed for Bluebird Bakery": "needs_action",
    "Reminder: 1 directory is waiting for Bluebird Bakery": "needs_action_reminder",
    "Your DirectoryBolt report for Bluebird Bakery is ready": "job_complete",
    # Sent by Auth (locally the stand-in) when the customer asks to sign in; this buyer has
    # not used the payment email's link yet, so it is the first-sign-in (confirm) template.
    "Confirm your email for DirectoryBolt": "sign_in",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def send_every_kind(stack: Stack) -> list[dict[str, Any]]:
    use_directories(stack.conn, "dir-a", "dir-b")
    order = stack.paid_order(EMAIL)
    stack.wait_mails(EMAIL, 1)
    fill_business(stack.conn, order["customer_id"])
    job_id = stack.scalar("select id from jobs_enqueue(%s)", order["id"])
    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    report(stack.conn, job_id, token, "dir-a")
    report(
        stack.conn,
        job_id,
        token,
        "dir-b",
        outcome="needs_action",
        confirmed=False,
        action=LONG_ACTION,
    )
    stack.wait_mails(EMAIL, 3)
    age_sent_emails(stack, job_id)
    assert queue_reminders(stack.conn) == 1
    stack.wait_mails(EMAIL, 4)
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))
    stack.wait_mails(EMAIL, 5)
    otp = httpx.post(
        f"{stack.auth.url}/auth/v1/otp",
        json={"email": EMAIL},
        headers={"apikey": jwt_keys.mint_api_key("anon")},
        timeout=10,
    )
    assert otp.status_code == 200, otp.text
    return stack.wait_mails(EMAIL, 6)


def header(mail: dict[str, Any], name: str) -> list[str]:
    return [v for k, values in mail["headers"].items() if k.lower() == name.lower() for v in values]


def check_headers(mails: list[dict[str, Any]]) -> str:
    """Date and Message-ID on every mail, the unsubscribe pair on reminders only; returns the
    reminder's unsubscribe URL."""
    assert sorted(mail["subject"] for mail in mails) == sorted(KINDS)
    message_ids = []
    unsubscribe = ""
    for mail in mails:
        [date] = header(mail, "Date")
        assert parsedate_to_datetime(date).tzinfo is not None, mail["subject"]
        [message_id] = header(mail, "Message-ID")
        assert re.fullmatch(r"<[^<>@\s]+@directorybolt\.example>", message_id), message_id
        message_ids.append(message_id)
        if KINDS[mail["subject"]] == "needs_action_reminder":
            [value] = header(mail, "List-Unsubscribe")
            assert re.fullmatch(r"<https?://[^<>,\s]+>", value), value
            assert header(mail, "List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
            unsubscribe = value[1:-1]
        else:
            assert not header(mail, "List-Unsubscribe"), mail["subject"]
            assert not header(mail, "List-Unsubscribe-Post"), mail["subject"]
    assert len(set(message_ids)) == len(mails), "each mail has its own Message-ID"
    assert unsubscribe
    return unsubscribe


def check_page(page: Page, url: str, *, axe: bool = True) -> None:
    page.goto(url)
    assert_fits_width(page)
    if axe:
        assert axe_violations(page) == [], url


def test_every_email_fits_a_phone(stack: Stack, browser: Browser) -> None:
    mails = send_every_kind(stack)
    unsubscribe_path = urlsplit(check_headers(mails)).path
    catcher = stack.mail.http_url

    page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    # The catcher itself reads on a phone: the inbox, and each message's page (axe once per
    # kind of page: every message page is the same markup).
    check_page(page, catcher)
    for number, mail in enumerate(mails):
        page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        check_page(page, f"{catcher}/messages/{mail['id']}", axe=not number)
        # The HTML part on its own, at the phone's full width, as a mail app shows it.
        page.goto(f"{catcher}/messages/{mail['id']}/html")
        expect(page.get_by_role("link").first).to_be_visible()
        for viewport in (PHONE, PHONE_WIDE):
            page.set_viewport_size(viewport)  # type: ignore[arg-type]
            assert_fits_width(page)
    page.close()

    # The unsubscribe page the reminder links to, on the portal.
    with AppServer(portal_app(stack.db_url, stack.auth.url), "the portal") as portal:
        for viewport in (DESKTOP, PHONE_WIDE):
            context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
            page = context.new_page()
            check_page(page, f"{portal.url}{unsubscribe_path}")
            expect(page.get_by_role("heading", name="Stop reminder emails?")).to_be_visible()
            check_page(page, f"{portal.url}/unsubscribe/{'A' * 43}", axe=viewport is DESKTOP)
            expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
            context.close()
        page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
        page.goto(f"{portal.url}{unsubscribe_path}")
        page.get_by_role("button", name="Stop reminder emails").click()
        expect(page.get_by_role("heading", name="Reminder emails stopped")).to_be_visible()
        assert_fits_width(page)
        assert axe_violations(page) == []
        page.close()
    assert stack.scalar("select count(*) from email_opt_outs") == 1
