"""The job page and the report in real Chromium (Playwright), against the portal served over
HTTP with the Realtime stand-in: the page follows the job live without a reload as attempts
are reported through the SQL queue functions, and axe-core finds no serious or critical
accessibility violations on the job page, the report or the not-ready page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from portal.auth.cookies import ACCESS_COOKIE
from tests.support.browser import axe_violations
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import REALTIME_ONLY, Job, finished_job, make_job, served_portal

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        yield launched
        launched.close()


def signed_in_page(browser: Browser, url: str, job: Job) -> Page:
    context = browser.new_context()
    token = access_token(job.customer.user_id, job.customer.email)
    context.add_cookies([{"name": ACCESS_COOKIE, "value": token, "url": url}])
    return context.new_page()


def row_text(page: Page, directory_id: str) -> str:
    return page.locator(f"#dir-{directory_id}").inner_text()


def test_the_job_page_follows_the_job_live_without_a_reload(
    portal_stack: PortalStack, browser: Browser
) -> None:
    job = make_job(portal_stack, "ann@example.com", directories=3)
    first, second, third = job.directories
    job.claim()
    with served_portal(portal_stack, REALTIME_ONLY) as (url, _app):
        page = signed_in_page(browser, url, job)
        navigations: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
        )
        page.goto(f"{url}/jobs/{job.id}")
        page.evaluate("window.__sameDocument = 'yes'")
        # Live through Realtime (the timer re-reads are minutes away in REALTIME_ONLY).
        page.wait_for_selector('#job[data-realtime="true"]', timeout=WAIT_MS)
        assert page.locator("#job-live-status").get_attribute("data-state") == "live"
        assert page.locator("#job-status").inner_text() == "In progress"
        assert "0 of 3" in page.locator("#job-progress-text").inner_text()

        job.report(first, listing_url="https://listings.example/ann")
        page.wait_for_function(
            "() => document.querySelector('#job-progress').value === 1", timeout=WAIT_MS
        )
        assert "Submitted" in row_text(page, first)
        assert page.locator(f"#dir-{first} a").get_attribute("href") == (
            "https://listings.example/ann"
        )
        assert (
            "1 of 3 directories processed (33%)" in page.locator("#job-progress-text").inner_text()
        )
        assert page.locator("#job-progress").get_attribute("max") == "3"

        job.report(second, "needs_action", action_required="Confirm the code sent by text")
        page.wait_for_selector("#needs-action-title", timeout=WAIT_MS)
        assert "Confirm the code sent by text" in page.locator("#job-needs-action").inner_text()
        assert "What to do: Confirm the code sent by text" in row_text(page, second)
        page.wait_for_function(
            "() => document.querySelector('#job-alert').textContent.includes('needs your action')",
            timeout=WAIT_MS,
        )
        counts = page.locator("#job-counts").inner_text()
        assert "1 Submitted" in counts.replace("\n", " ")
        assert "1 Needs your action" in counts.replace("\n", " ")

        # The in-progress page, with a needs-action box and live regions, passes axe.
        assert axe_violations(page) == []

        job.report(third, "permanent_error", error_code="site_down")
        job.complete()
        page.wait_for_selector("#job-report:not([hidden])", timeout=WAIT_MS)
        assert page.locator("#job-status").inner_text() == "Complete"
        assert "Not submitted: the site is down." in row_text(page, third)
        assert page.locator("#job-progress").evaluate("bar => bar.value") == 3
        assert page.locator("#job-estimate").inner_text() == "Finished."
        page.wait_for_function(
            "() => document.querySelector('#job-alert').textContent.includes('report is ready')",
            timeout=WAIT_MS,
        )
        # All of that happened in the same document: no reload, no navigation.
        assert page.evaluate("window.__sameDocument") == "yes"
        assert navigations == [f"{url}/jobs/{job.id}"]

        assert axe_violations(page) == []
        page.locator("#job-report-link").click()
        page.wait_for_url(f"{url}/jobs/{job.id}/report")
        assert page.locator("h1").inner_text() == "Submission report"
        assert axe_violations(page) == []


def test_report_and_not_ready_pages_pass_axe(portal_stack: PortalStack, browser: Browser) -> None:
    done = finished_job(portal_stack, "bea@example.com")
    waiting = make_job(portal_stack, "cat@example.com", directories=2)
    with served_portal(portal_stack) as (url, _app):
        page = signed_in_page(browser, url, done)
        page.goto(f"{url}/jobs/{done.id}/report")
        assert page.locator('dd[data-field="successes"]').inner_text() == "2"
        assert axe_violations(page) == []
        # Printing hides the site's navigation and the download buttons.
        page.emulate_media(media="print")
        assert not page.locator(".site-header").is_visible()
        assert not page.locator(".report-actions").is_visible()
        page.emulate_media(media="screen")
        page.goto(f"{url}/jobs/{done.id}")
        assert axe_violations(page) == []

        other = signed_in_page(browser, url, waiting)
        response = other.goto(f"{url}/jobs/{waiting.id}/report")
        assert response is not None
        assert response.status == 404
        assert other.locator("h1").inner_text() == "Report not ready yet"
        assert axe_violations(other) == []
        other.goto(f"{url}/jobs/{waiting.id}")
        assert axe_violations(other) == []
