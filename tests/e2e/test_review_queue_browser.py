"""The review queue and "I've done it" in real Chromium (Playwright, Debian's binary), on the
portal served over HTTP with the Auth/Realtime stand-in and a real orchestrator:

- staff at phone width (390 px) and on a desktop see every item needing review or action,
  settle one through its confirm step, and find it in the job's audit trail under their name;
- a customer at phone width reads what to do, has a link to the directory's site, presses
  "I've done it" and sees the item handed to our team;
- axe-core finds no serious or critical accessibility violations on these pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from dbolt.sql import Queries
from portal.auth.cookies import ACCESS_COOKIE
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import Job, make_job, served_portal
from tests.support.queue_helpers import create_job, enable_test_directories, report
from tests.support.staff_stack import STAFF_EMAIL, StaffStack, claim, staff_stack

CHROMIUM = "/usr/lib/chromium/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WAIT_MS = 15_000
Conn = psycopg.Connection[Any]


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


@pytest.fixture
def live_stack(db_url: str, tmp_path: Path) -> Iterator[StaffStack]:
    with staff_stack(db_url, tmp_path / "artifacts", http_server=True) as running:
        yield running


def page_for(browser: Browser, base_url: str, token: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.add_cookies([{"name": ACCESS_COOKIE, "value": token, "url": base_url}])
    return context.new_page()


def serious_violations(page: Page) -> list[str]:
    # Through DevTools, not a <script> tag: the portal's CSP (rightly) refuses inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .flatMap(v => v.nodes.map(n => v.id + ': ' + n.target.join(' ')))"""
    )
    return found


def overflows(page: Page) -> bool:
    """Whether the page is wider than the screen (a phone would scroll sideways)."""
    return bool(
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    )


def review_items(conn: Conn, queries: Queries) -> tuple[uuid.UUID, list[str]]:
    """A complete job: dirs[0] needs review (an unconfirmed success), dirs[1] needs action."""
    dirs = enable_test_directories(conn, 3)
    job_id = create_job(conn, queries, email="bakery@example.com")
    job = claim(conn, queries, "worker-review")
    report(conn, queries, job, dirs[0], confirmed=False, message="No confirmation shown")
    report(
        conn,
        queries,
        job,
        dirs[1],
        outcome="needs_action",
        action_required="Click the link the directory emailed you",
    )
    report(conn, queries, job, dirs[2])
    queries.fetch_one(conn, "jobs_complete", job_id=job_id, lease_token=job["lease_token"])
    return job_id, dirs


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_staff_settle_an_item_from_the_queue_and_it_lands_in_the_audit_trail(
    live_stack: StaffStack,
    browser: Browser,
    conn: Conn,
    queries: Queries,
    viewport: dict[str, int],
) -> None:
    job_id, dirs = review_items(conn, queries)
    page = page_for(browser, live_stack.portal_url, live_stack.staff_token(), viewport)
    page.goto(live_stack.portal_url + "/staff")
    expect(page.locator('[data-count="needs_review"]')).to_have_text("1")
    expect(page.locator('[data-count="needs_action"]')).to_have_text("1")
    page.get_by_role("link", name="Review", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    items = page.locator("[data-review-item]")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("No confirmation shown")
    expect(items.nth(1)).to_contain_text("Click the link the directory emailed you")
    assert not overflows(page), "the queue fits the screen without sideways scrolling"
    assert serious_violations(page) == []

    first = items.nth(0)
    first.get_by_label("Listing URL", exact=True).fill("https://listing.example/bakery")
    first.get_by_role("button", name="Confirm live…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Confirm live")
    expect(page.locator("main, body").first).to_contain_text("https://listing.example/bakery")
    assert not overflows(page)
    assert serious_violations(page) == []
    page.get_by_role("button", name="Yes, confirm live").click()

    expect(page.locator("#review-notice")).to_contain_text(f"{dirs[0]}: confirmed live")
    expect(items).to_have_count(1)
    page.goto(f"{live_stack.portal_url}/staff/jobs/{job_id}")
    entry = page.locator('tr[data-audit-action="directory.live"]')
    expect(entry).to_have_count(1)
    expect(entry.locator("[data-audit-actor]")).to_have_text(f"staff:{STAFF_EMAIL}")
    expect(entry).to_contain_text("needs_review → live")


def customer_job(stack: PortalStack) -> Job:
    job = make_job(stack, "phone@example.com", directories=2)
    first, second = job.directories
    job.claim()
    job.report(first, "needs_action", action_required="Click the link the directory emailed you")
    job.report(second)
    job.complete()
    return job


def test_a_customer_on_a_phone_says_ive_done_it(
    portal_stack: PortalStack, browser: Browser
) -> None:
    job = customer_job(portal_stack)
    first = job.directories[0]
    with served_portal(portal_stack) as (url, _app):
        token = access_token(job.customer.user_id, job.customer.email)
        page = page_for(browser, url, token, PHONE)
        page.goto(f"{url}/jobs/{job.id}")
        panel = page.locator(".needs-action")
        expect(panel).to_contain_text("Click the link the directory emailed you")
        site = panel.get_by_role("link", name="Open Test directory")
        expect(site).to_have_attribute("href", f"http://127.0.0.1:9/{first}")
        expect(site).to_have_attribute("rel", "noopener noreferrer")
        box = panel.bounding_box()
        assert box is not None
        assert box["width"] <= PHONE["width"], box
        assert not overflows(page), "the job page fits the phone without sideways scrolling"
        assert serious_violations(page) == []

        panel.get_by_role("button", name="I've done it").click()
        expect(page.locator("#action-done-notice")).to_contain_text("Our team will check it")
        expect(page.locator(".needs-action")).to_have_count(0)
        expect(page.locator(f"#dir-{first}")).to_contain_text("You told us you've done what")
        assert serious_violations(page) == []
    assert job.sql(
        "select status::text, last_message from job_directories"
        " where job_id = %s and directory_id = %s",
        job.id,
        first,
    ) == [("needs_review", "customer says done")]
    assert job.sql(
        "select actor from audit_log where job_id = %s and action = 'directory.customer_done'",
        job.id,
    ) == [(f"user:{job.customer.user_id}",)]
