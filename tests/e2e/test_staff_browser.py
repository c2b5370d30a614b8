"""The staff dashboard in real Chromium (Playwright, Debian's binary) against the portal served
by uvicorn, the Auth/Realtime stand-in and a real orchestrator, on this test's database:
live updates without reloading (a new job, counts moving as attempts are reported, a second
staff browser seeing another's intervention), interventions from the UI with their confirm
step landing in the audit trail under the staff user's name, a customer refused, and axe-core
finding no serious or critical accessibility violations.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from dbolt.sql import Queries
from tests.support.browser import axe_violations
from tests.support.queue_helpers import create_job, enable_test_directories, report
from tests.support.staff_stack import (
    STAFF_EMAIL,
    StaffStack,
    claim,
    seed_history,
    staff_stack,
)

CHROMIUM = "/usr/lib/chromium/chromium"
# Generous: the page reacts to an event in well under a second on an idle machine; a loaded
# 2-core CI box can be much slower, and these tests check behaviour, not speed.
LIVE_TIMEOUT_MS = 15_000
Conn = psycopg.Connection[Any]


@pytest.fixture
def live_stack(db_url: str, tmp_path: Path) -> Iterator[StaffStack]:
    with staff_stack(db_url, tmp_path / "artifacts", http_server=True) as running:
        yield running


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


def open_as(browser: Browser, stack: StaffStack, token: str, path: str) -> Page:
    context = browser.new_context()
    context.add_cookies([{"name": "dbolt_access", "value": token, "url": stack.portal_url}])
    page = context.new_page()
    page.goto(stack.portal_url + path)
    return page


def wait_live(page: Page) -> None:
    expect(page.locator("#live-state")).to_have_attribute(
        "data-state", "live", timeout=LIVE_TIMEOUT_MS
    )


def test_a_new_job_appears_and_counts_move_live_in_two_staff_browsers(
    live_stack: StaffStack, browser: Browser, conn: Conn, queries: Queries
) -> None:
    dirs = enable_test_directories(conn, 3)
    first = open_as(browser, live_stack, live_stack.staff_token(), "/staff")
    second = open_as(
        browser, live_stack, live_stack.staff_token("bob.staff@directorybolt.test"), "/staff"
    )
    for page in (first, second):
        wait_live(page)
        expect(page.locator('[data-count="pending"]')).to_have_text("0")

    job_id = create_job(conn, queries, email="newshop@example.com")
    for page in (first, second):
        row = page.locator(f'#recent-jobs tr[data-job-id="{job_id}"]')
        expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        expect(page.locator('[data-count="pending"]')).to_have_text("1", timeout=LIVE_TIMEOUT_MS)

    job = claim(conn, queries, "worker-live")
    for page in (first, second):
        expect(page.locator('[data-count="in_progress"]')).to_have_text(
            "1", timeout=LIVE_TIMEOUT_MS
        )
        expect(page.locator('[data-count="pending"]')).to_have_text("0")

    # The second browser follows the job itself while attempts are reported.
    second.goto(f"{live_stack.portal_url}/staff/jobs/{job_id}")
    wait_live(second)
    report(conn, queries, job, dirs[0], outcome="success", listing_url="http://127.0.0.1:9/l/1")
    expect(first.locator(f'tr[data-job-id="{job_id}"] [data-job-done]')).to_have_text(
        "1 / 3", timeout=LIVE_TIMEOUT_MS
    )
    expect(
        second.locator(f'tr[data-directory-id="{dirs[0]}"] [data-directory-status]')
    ).to_have_text("submitted", timeout=LIVE_TIMEOUT_MS)
    report(conn, queries, job, dirs[1], outcome="permanent_error", error_code="site_down")
    expect(
        second.locator(f'tr[data-directory-id="{dirs[1]}"] [data-directory-status]')
    ).to_have_text("failed", timeout=LIVE_TIMEOUT_MS)
    expect(second.locator("table.attempts tbody tr")).to_have_count(2)
    expect(first.locator(f'tr[data-job-id="{job_id}"] [data-job-done]')).to_have_text(
        "2 / 3", timeout=LIVE_TIMEOUT_MS
    )
    # Nothing was reloaded: the pages are the same documents they were.
    assert first.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_interventions_from_the_ui_are_confirmed_audited_and_seen_by_another_staff_browser(
    live_stack: StaffStack, browser: Browser, conn: Conn, queries: Queries
) -> None:
    dirs = enable_test_directories(conn, 3)
    job_id = create_job(conn, queries)
    job = claim(conn, queries, "worker-ui")
    report(conn, queries, job, dirs[0], outcome="permanent_error", error_code="form_gone")
    report(conn, queries, job, dirs[1], outcome="permanent_error", error_code="site_down")

    path = f"/staff/jobs/{job_id}"
    ann = open_as(browser, live_stack, live_stack.staff_token(), path)
    bob = open_as(browser, live_stack, live_stack.staff_token("bob.staff@directorybolt.test"), path)
    wait_live(bob)
    expect(bob.locator("#job-status")).to_have_text("in progress")

    def act(button: str, confirm: str, reason: str | None = None) -> None:
        ann.get_by_role("button", name=button, exact=True).click()
        # The confirm step: nothing has happened yet.
        expect(ann.get_by_role("heading", level=1)).to_contain_text("?")
        if reason is not None:
            # Pause and cancel say why, in words the customer reads on their job page.
            ann.get_by_label("Reason the customer will read").fill(reason)
        ann.get_by_role("button", name=confirm).click()

    act("Pause job", "Yes, pause this job", "We are checking your address with you.")
    expect(ann.get_by_role("status").filter(has_text="Job paused")).to_be_visible()
    expect(ann.locator("#job-staff-reason")).to_have_text("We are checking your address with you.")
    expect(ann.locator("#job-status")).to_have_text("paused")
    # Bob's page follows without reloading, buttons included.
    expect(bob.locator("#job-status")).to_have_text("paused", timeout=LIVE_TIMEOUT_MS)
    expect(bob.get_by_role("button", name="Resume job")).to_be_visible(timeout=LIVE_TIMEOUT_MS)

    act("Resume job", "Yes, resume this job")
    expect(ann.locator("#job-status")).to_have_text("pending")
    expect(bob.locator("#job-status")).to_have_text("pending", timeout=LIVE_TIMEOUT_MS)

    # Retry one chosen failed directory.
    ann.get_by_label(f"Test directory {dirs[1]}").check()
    ann.get_by_role("button", name="Retry", exact=True).click()
    expect(ann.locator(".confirm")).to_contain_text(dirs[1])
    ann.get_by_role("button", name="Yes, retry this job").click()
    expect(ann.get_by_role("status").filter(has_text="Retry queued for 1")).to_be_visible()
    expect(bob.locator(f'tr[data-directory-id="{dirs[1]}"] [data-directory-status]')).to_have_text(
        "queued", timeout=LIVE_TIMEOUT_MS
    )
    expect(bob.locator(f'tr[data-directory-id="{dirs[0]}"] [data-directory-status]')).to_have_text(
        "failed"
    )

    act("Cancel job", "Yes, cancel this job", "You asked us to stop.")
    expect(ann.locator("#job-status")).to_have_text("cancelled")
    expect(bob.locator("#job-status")).to_have_text("cancelled", timeout=LIVE_TIMEOUT_MS)

    actor = f"staff:{STAFF_EMAIL}"
    trail = ann.locator("table.audit")
    for action in ("job.paused", "job.resumed", "directory.retried", "job.cancelled"):
        expect(trail.locator(f'tr[data-audit-action="{action}"] [data-audit-actor]')).to_have_text(
            actor
        )
    # Bob sees Ann's name in his trail too, without reloading.
    expect(
        bob.locator('table.audit tr[data-audit-action="job.cancelled"] [data-audit-actor]')
    ).to_have_text(actor, timeout=LIVE_TIMEOUT_MS)
    rows = conn.execute(
        "select action from audit_log where job_id = %s and actor = %s", (job_id, actor)
    ).fetchall()
    assert {r[0] for r in rows} >= {"job.paused", "job.resumed", "job.cancelled"}
    assert bob.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_a_customer_is_refused_in_the_browser(
    live_stack: StaffStack, browser: Browser, conn: Conn, queries: Queries
) -> None:
    page = open_as(browser, live_stack, live_stack.customer_token(), "/staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    response = page.goto(f"{live_stack.portal_url}/staff/jobs")
    assert response is not None
    assert response.status == 403
    assert page.locator("nav[aria-label='Staff dashboard']").count() == 0


def describe(violations: list[dict[str, Any]]) -> list[str]:
    return [f"{v['id']}: {node} ({v['help']})" for v in violations for node in v["nodes"]]


def test_dashboard_pages_have_no_serious_accessibility_violations(
    live_stack: StaffStack, browser: Browser, conn: Conn, queries: Queries
) -> None:
    seed_history(conn, queries)
    dirs = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries, email="axe@example.com")
    job = claim(conn, queries, "worker-axe")
    report(conn, queries, job, dirs[0], outcome="permanent_error", error_code="form_gone")
    conn.execute("select alerts_raise('captcha_provider_down', 'Captcha solving is failing')")
    page = open_as(browser, live_stack, live_stack.staff_token(), "/staff")
    wait_live(page)
    paths = [
        "/staff",
        "/staff/jobs",
        "/staff/jobs?status=sleeping",
        f"/staff/jobs/{job_id}",
        "/staff/charts",
        "/staff/charts?window=7d",
    ]
    found: dict[str, list[str]] = {}
    for path in paths:
        page.goto(live_stack.portal_url + path)
        serious = axe_violations(page)
        if serious:
            found[path] = describe(serious)
    # The confirm step.
    page.goto(f"{live_stack.portal_url}/staff/jobs/{job_id}")
    page.get_by_role("button", name="Cancel job").click()
    serious = axe_violations(page)
    if serious:
        found["confirm"] = describe(serious)
    assert not found, found
