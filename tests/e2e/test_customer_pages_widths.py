"""Every customer page in real Chromium at a small phone (360 px), a common phone (390 px) and
a laptop (1280 px): nothing makes a person scroll sideways, axe-core finds no serious or
critical violation, the job page's table reflows into one card per directory on a phone with
each directory's state and listing link on screen, and live updates still swap rows in at
phone and desktop width.

One customer holds three orders (a growth job complete and refunded for what it could not
deliver, a starter job in progress with a directory waiting for them and an account we opened,
a professional job waiting for a directory's email), a campaign mailbox with a long mail, and
the signed-out pages (pricing, sign-in, the code page, the link's confirm page, onboarding,
the error page) are loaded beside them. The business form and the report belong to their own
browser tests (test_portal_business_browser.py, test_portal_jobs_browser.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, expect

from dbolt.sql import Queries
from tests.support.browser import (
    DESKTOP,
    PHONE,
    PHONE_WIDE,
    assert_fits_width,
    axe_violations,
    chromium,
    signed_in_context,
)
from tests.support.orchestrator_harness import WORKER
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import REALTIME_ONLY, Job, refund_shortfall, served_portal
from tests.support.queue_helpers import enable_test_directories

QUERIES = Queries.load()
WAIT_MS = 15_000
EMAIL = "dana@example.com"
LONG_LINK = "https://www.listings-one.example/verify?token=" + "a1b2c3d4" * 20
WIDTHS = (("phone", PHONE), ("phone-wide", PHONE_WIDE), ("desktop", DESKTOP))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@dataclass
class Customer:
    """Dana's three orders' jobs, and the directory account opened on the one in progress."""

    complete: Job
    working: Job
    waiting: Job
    account_password: str


def _job(stack: PortalStack, tier: str, amount: int) -> Job:
    """A paid order of `tier` for `amount` cents, and its job over the enabled directories."""
    customer = stack.customer(EMAIL, tier)
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute(
            "update orders set amount_total = %s, stripe_payment_intent_id = %s where id = %s",
            (amount, f"pi_test_{customer.order_id.hex}", customer.order_id),
        )
        row = QUERIES.fetch_one(conn, "jobs_enqueue", order_id=customer.order_id)
    assert row is not None
    directories = [
        str(r[0])
        for r in psycopg.connect(stack.db_url, autocommit=True)
        .execute(
            "select directory_id from job_directories where job_id = %s order by position",
            (row["id"],),
        )
        .fetchall()
    ]
    return Job(db_url=stack.db_url, customer=customer, id=row["id"], directories=directories)


def dana(stack: PortalStack, api: TestClient) -> Customer:
    """Dana's orders, each job driven through the SQL queue functions one after the other."""
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        enable_test_directories(conn, 12)

    complete = _job(stack, "growth", 14_900)
    complete.claim()
    *delivered, refused, skipped = complete.directories
    for number, directory in enumerate(delivered, start=1):
        complete.report(directory, listing_url=f"https://listings.example/bluebird-{number}")
    complete.report(refused, "permanent_error", error_code="duplicate_listing")
    complete.report(skipped, "permanent_error", error_code="form_gone")
    complete.complete()
    refund_shortfall(complete, "re_test_growth")

    waiting = _job(stack, "professional", 49_900)
    waiting.claim()
    parked, *rest = waiting.directories
    for directory in rest:
        waiting.report(directory, listing_url=f"https://listings.example/pro-{directory}")
    waiting.start(parked)
    waiting.report(
        parked,
        "parked",
        wait_kind="email",
        wait_seconds=48 * 3600,
        resume_phase="verify_email",
        message="signed up; waiting for the confirmation email",
    )
    waiting.complete()

    working = _job(stack, "starter", 4_900)
    working.claim()
    first, second, third, *_ = working.directories
    working.report(first, listing_url="https://listings.example/bluebird-bakery-of-portland")
    working.report(second, "needs_action", action_required="Confirm the code sent by text")
    working.start(third)
    assert working.lease is not None
    opened = api.post(
        f"/jobs/{working.id}/directories/{third}/account",
        json={"lease_token": str(working.lease["lease_token"])},
        headers=WORKER,
    )
    assert opened.status_code == 200, opened.text

    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        (local,) = conn.execute(
            "select local_part from customer_mailboxes m join customers c"
            " on c.id = m.customer_id where c.id = %s",
            (working.customer.customer_id,),
        ).fetchone() or ("",)
        conn.execute(
            "select inbound_emails_receive('mailgun', '<1@listings-one.example>', %s,"
            " 'noreply@listings-one.example', 'Confirm your Listings One account', %s, '')",
            (local, f"Hello,\n\nconfirm your account: {LONG_LINK}\n\nYour code is 424242.\n"),
        )
    return Customer(complete, working, waiting, str(opened.json()["password"]))


def _visit(page: Page, url: str, status: int = 200) -> Page:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url}: {response.status}"
    return page


def _job_page(page: Page, url: str) -> None:
    """The job page, once its live stream's first message has swapped every row in (an
    unfinished job's), so that what is measured is not replaced while it is measured."""
    _visit(page, url)
    page.wait_for_selector('#job[data-final="true"], #job[data-updates]', timeout=WAIT_MS)


def _check(page: Page, with_axe: bool) -> None:
    assert_fits_width(page)
    if with_axe:
        assert axe_violations(page) == [], page.url


def _on_screen(page: Page, selector: str) -> None:
    """The element is visible and wholly inside the viewport's width (no sideways scroll)."""
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= width, (selector, box, width)


def test_signed_out_pages_fit_every_width(portal_stack: PortalStack, browser: Browser) -> None:
    order = portal_stack.customer("erin@example.com")
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        (session_id,) = conn.execute(
            "select stripe_checkout_session_id from orders where id = %s", (order.order_id,)
        ).fetchone() or ("",)
    paths = [
        ("/pricing", 200),
        ("/sign-in?next=/account", 200),
        ("/sign-in/code?email=a-rather-long-address.for-a-phone@bluebird-bakery.example", 200),
        ("/auth/confirm?token_hash=pkce_0123456789abcdef&type=magiclink&next=/account", 200),
        (f"/onboarding?session_id={session_id}", 200),
        ("/no-such-page", 404),
    ]
    with served_portal(portal_stack) as (url, _app):
        for name, viewport in WIDTHS:
            context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
            page = context.new_page()
            for path, status in paths:
                _visit(page, url + path, status)
                _check(page, with_axe=name == "phone-wide")
            context.close()


def _job_page_checks(page: Page, customer: Customer, url: str, name: str) -> None:
    working, waiting, complete = customer.working, customer.waiting, customer.complete
    phone = name != "desktop"
    _job_page(page, f"{url}/jobs/{working.id}")
    _check(page, with_axe=name == "phone-wide")
    expect(page.locator("#job-needs-action")).to_contain_text("Confirm the code sent by text")
    first = working.directories[0]
    # Every directory's state and listing link are on screen, whatever the width.
    _on_screen(page, f"#dir-{first} .status")
    _on_screen(page, f"#dir-{first} a")
    # At desktop width it is a table (columns, headers); on a phone each row is a card.
    display = page.locator(f"#dir-{first}").evaluate("row => getComputedStyle(row).display")
    assert (display != "table-row") == phone, display
    assert page.get_by_role("columnheader", name="State").count() == 1

    _job_page(page, f"{url}/jobs/{waiting.id}")
    _check(page, with_axe=name == "phone-wide")
    expect(page.locator("#job-status")).to_have_text("Waiting for directories")

    _job_page(page, f"{url}/jobs/{complete.id}")
    _check(page, with_axe=name == "phone-wide")
    expect(page.locator("#job-promise")).to_contain_text("was refunded to your card")


def _live_update(page: Page, job: Job, directory: str, url: str) -> None:
    """A directory reported while the page is open arrives without a reload, still fitting."""
    _job_page(page, f"{url}/jobs/{job.id}")
    page.wait_for_selector('#job[data-realtime="true"]', timeout=WAIT_MS)
    job.report(directory, listing_url=f"https://listings.example/live-{directory}")
    page.wait_for_selector(f"#dir-{directory}.dir-submitted", timeout=WAIT_MS)
    expect(page.locator(f"#dir-{directory} .status")).to_have_text("Submitted")
    _on_screen(page, f"#dir-{directory} a")
    assert_fits_width(page)


def test_customer_pages_fit_every_width(
    portal_stack: PortalStack, api: TestClient, browser: Browser
) -> None:
    customer = dana(portal_stack, api)
    token = access_token(customer.working.customer.user_id, EMAIL)
    live = iter(customer.working.directories[3:])
    with served_portal(portal_stack, REALTIME_ONLY) as (url, _app):
        for name, viewport in WIDTHS:
            context: BrowserContext = signed_in_context(browser, url, token, viewport)
            page = context.new_page()
            _visit(page, f"{url}/account")
            _check(page, with_axe=name == "phone-wide")
            _job_page_checks(page, customer, url, name)
            _visit(page, f"{url}/mailbox")
            page.get_by_text("Confirm your Listings One account").click()
            expect(page.get_by_text("Your code is 424242.")).to_be_visible()
            _check(page, with_axe=name == "phone-wide")
            _visit(page, f"{url}/jobs/00000000-0000-0000-0000-000000000000", 404)
            _check(page, with_axe=name == "phone-wide")
            if name == "phone":
                # "Show password" (a real form POST) shows it in its card, still fitting.
                _job_page(page, f"{url}/jobs/{customer.working.id}")
                page.locator("#accounts").get_by_role("button", name="Show password").click()
                expect(page.locator("[data-revealed]")).to_have_text(customer.account_password)
                assert_fits_width(page)
            else:
                _live_update(page, customer.working, next(live), url)
            context.close()
