"""The whole customer journey in real Chromium against the whole stack as real processes
(tests/support/e2e_stack.py, journey=True): the portal, the checkout Edge Function under Deno behind
the Supabase stand-in's /functions/v1, the Stripe stand-in's hosted checkout page and signed
webhooks, the webhook receiver, the Auth stand-in, the mail catcher, the orchestrator, and a
real worker submitting to the sandbox directories through the proxies.

pricing → Buy → the Stripe test checkout page → Pay → onboarding (signed in once, from the
checkout, by the page's button) → the Business Info Form refuses bad input field by field, in
the browser and, with the browser's checks out of the way (JavaScript off), on the server,
writing nothing → a valid form is saved and the job is pending → a worker starts and the job
page follows every attempt live, without a reload → the report page, the PDF and the CSV
download, and every number in them is the database's.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

import psycopg
import pytest
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright
from pypdf import PdfReader

from dbolt.directories import sync_directories
from tests.support.e2e_stack import Stack, running_stack

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/lib/chromium/chromium"
BUYER = "owner@bluebird-bakery.example"
WAIT_MS = 30_000
JOB_TIMEOUT_MS = 240_000

# A few sandbox directories covering each kind of outcome, so the job is short but its
# report has something in every column: (status, attempts).
EXPECTED: dict[str, tuple[str, int]] = {
    "sandbox-plain": ("submitted", 1),
    "sandbox-multistep": ("submitted", 1),
    "sandbox-flaky": ("submitted", 2),  # fails once, then succeeds: a retry
    "sandbox-duplicate": ("failed", 1),  # already lists the sample business
    "sandbox-email-verify": ("needs_action", 1),
    "sandbox-unconfirmed": ("needs_review", 1),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        yield launched
        launched.close()


def _only_these_directories(stack: Stack) -> None:
    entries = stack.sync_sandbox_directories()
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        sync_directories(conn, [e for e in entries if e["id"] in EXPECTED])


def _error(page: Page, field: str) -> str:
    holder = page.locator(f"#{field}-error")
    assert holder.is_visible(), f"no visible error next to {field}"
    return holder.inner_text()


def _fill_bad(page: Page) -> None:
    """One mistake per field the rules cover; the rest left empty."""
    page.fill("#business_name", "B")
    page.fill("#postal_code", "62701!")
    page.select_option("#country", "US")
    page.fill("#phone", "12")
    page.fill("#website", "javascript:alert(1)")
    page.fill("#hours-mon-0-open", "09:00")
    page.fill("#hours-tue-0-open", "18:00")
    page.fill("#hours-tue-0-close", "09:00")
    page.fill("#social-facebook", "https://evil.example/page")


BAD_INPUT_ERRORS = {
    "business_name": "The business name must be at least 2 characters",
    "category": "Choose the category",
    "street_address": "Enter the street address",
    "city": "Enter the city or town",
    "region": "Enter the state, county or region",
    "postal_code": "The ZIP code may only contain letters, digits, spaces and hyphens",
    "website": "The website address must start with http:// or https://",
    "hours-mon": "Monday: enter both an opening and a closing time",
    "hours-tue": "Tuesday: the closing time must be after the opening time",
    "social-facebook": "The Facebook address must be on facebook.com or fb.com",
}


def _fill_valid(page: Page) -> None:
    page.fill("#business_name", "Bluebird Bakery")
    page.select_option("#category", "bakery")
    page.fill("#street_address", "12 Orchard Lane")
    page.fill("#city", "Springfield")
    page.fill("#region", "IL")
    page.fill("#postal_code", "62701")
    page.select_option("#country", "US")
    page.fill("#phone", "(217) 555-0123")
    page.fill("#website", "bluebird-bakery.example")
    # The address directories publish: the buyer's sign-in address never is.
    page.fill("#public_email", "hello@bluebird-bakery.example")
    page.fill("#social-facebook", "")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.fill(f"#hours-{day}-0-open", "07:00")
        page.fill(f"#hours-{day}-0-close", "15:00")
    page.fill("#hours-fri-1-open", "16:00")
    page.fill("#hours-fri-1-close", "18:00")
    page.locator("#hours-sat-closed").check()
    page.locator("#hours-sun-closed").check()
    page.fill("#tagline", "Bread worth getting up for")


def _save_button(page: Page) -> Any:
    return page.get_by_role("button", name="Save and start my submissions")


def _business_name_in_db(stack: Stack, order_id: str) -> tuple[str | None, int]:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select c.business_name, (select count(*) from jobs j where j.order_id = o.id)"
            " from orders o join customers c on c.id = o.customer_id where o.id = %s",
            (order_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def _database_numbers(stack: Stack, job_id: str) -> dict[str, Any]:
    """The report's numbers, straight from the tables (not from the report's own summary),
    plus the frozen summary itself."""
    with psycopg.connect(stack.db_url) as conn:
        statuses: Counter[str] = Counter(
            dict(
                conn.execute(
                    "select status::text, count(*) from job_directories where job_id = %s"
                    " group by status",
                    (job_id,),
                ).fetchall()
            )
        )
        attempts_row = conn.execute(
            "select count(*), count(*) filter (where attempt > 1) from job_results"
            " where job_id = %s",
            (job_id,),
        ).fetchone()
        summary_row = conn.execute(
            "select summary from job_reports where job_id = %s", (job_id,)
        ).fetchone()
        directories = {
            row[0]: (row[1], row[2], row[3])
            for row in conn.execute(
                "select directory_id, status::text, attempts, listing_url from job_directories"
                " where job_id = %s",
                (job_id,),
            )
        }
    assert attempts_row is not None
    assert summary_row is not None, "jobs_complete wrote no report"
    return {
        "directories": sum(statuses.values()),
        "successes": statuses["submitted"] + statuses["live"],
        "needs_action": statuses["needs_action"],
        "needs_review": statuses["needs_review"],
        "failures": statuses["failed"],
        "skipped": statuses["skipped"],
        "attempts": attempts_row[0],
        "retries": attempts_row[1],
        "summary": summary_row[0],
        "rows": directories,
    }


NUMBER_KEYS = (
    "directories",
    "successes",
    "needs_action",
    "needs_review",
    "failures",
    "skipped",
    "attempts",
    "retries",
)
# How the report (and so the PDF) labels each number.
PDF_LABELS = {
    "directories": "Directories in your package",
    "successes": "Submitted successfully",
    "needs_action": "Need your action",
    "needs_review": "Being checked by our team",
    "failures": "Could not be submitted",
    "skipped": "Skipped",
    "attempts": "Submission attempts",
    "retries": "Retries",
}


def _parse_csv(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    summary_part, _, directories_part = text.lstrip("\ufeff").partition("\r\n\r\n")
    summary_rows = list(csv.reader(io.StringIO(summary_part)))
    assert summary_rows[0] == ["field", "value"]
    summary = {row[0]: row[1] for row in summary_rows[1:]}
    directories = list(csv.DictReader(io.StringIO(directories_part)))
    return summary, directories


def test_buy_fill_in_watch_live_and_download_the_reports(
    db_url: str, tmp_path: Path, browser: Browser
) -> None:
    with running_stack(db_url, tmp_path, journey=True) as stack:
        _only_these_directories(stack)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        try:
            _journey(stack, browser, context, page, tmp_path)
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            for name in ("portal", "webhook", "worker-1"):
                if name in stack.processes:
                    print(f"--- {name} log ---\n{stack.log(name)[-4000:]}")
            raise
        finally:
            context.close()


def _journey(
    stack: Stack, browser: Browser, context: BrowserContext, page: Page, tmp_path: Path
) -> None:
    portal = stack.portal_url

    # 1. Pricing → Buy → the checkout Edge Function (through the gateway) → Stripe's page.
    page.goto(f"{portal}/pricing")
    page.get_by_role("button", name="Buy Starter").click()
    page.wait_for_url(re.compile(re.escape(stack.url("stripe")) + r"/checkout/cs_\w+$"))
    session_id = page.url.rsplit("/", 1)[1]
    assert "Starter" in page.content()

    # 2. Pay → back to the portal's onboarding, which waits for the webhook; its button (a
    #    POST: opening the link alone signs nobody in) signs the buyer in once and goes on to
    #    the Business Info Form.
    page.fill("#email", BUYER)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(re.escape(portal) + r"/onboarding\?session_id=cs_\w+$"))
    continue_button = page.get_by_role("button", name="Continue to your business details")
    continue_button.wait_for(timeout=WAIT_MS)
    assert "dbolt_access" not in {c["name"] for c in context.cookies()}
    continue_button.click()
    page.wait_for_url(re.compile(re.escape(portal) + r"/orders/[0-9a-f-]{36}/business$"))
    order_id = page.url.rsplit("/", 2)[1]
    with psycopg.connect(stack.db_url) as conn:
        order = conn.execute(
            "select o.status::text, o.tier::text, o.stripe_checkout_session_id, c.email"
            " from orders o join customers c on c.id = o.customer_id where o.id = %s",
            (order_id,),
        ).fetchone()
    assert order == ("paid", "starter", session_id, BUYER)
    assert {c["name"] for c in context.cookies()} >= {"dbolt_access", "dbolt_refresh"}
    # The payment email went out too, linking to this form.
    mail = stack.wait_for_mail(BUYER, "payment received")
    assert any(
        f"/orders/{order_id}/business" in unquote(link)
        for link in mail["links"]
        if link.startswith(portal)
    ), mail["links"]

    # 3. The browser's checks: every mistake named next to its field, nothing sent.
    posts: list[str] = []

    def record_post(request: Request) -> None:
        if request.method == "POST":
            posts.append(request.url)

    page.on("request", record_post)
    _fill_bad(page)
    _save_button(page).click()
    assert page.locator("#error-summary").is_visible()
    for field, message in BAD_INPUT_ERRORS.items():
        assert _error(page, field) == message
    # The browser judges numbers by the server's rules (phonenumbers): "12" is no US number.
    assert "not a valid phone number in United States" in _error(page, "phone")
    assert page.locator("#business_name").get_attribute("aria-invalid") == "true"
    assert posts == [], "the browser sent a form it knew was wrong"
    page.remove_listener("request", record_post)

    # 4. The server's checks, with the browser's out of the way (JavaScript off, same
    #    session): the same messages next to the same fields, and nothing written.
    raw = browser.new_context(java_script_enabled=False)
    try:
        raw.add_cookies(cast(list[SetCookieParam], context.cookies()))
        raw_page = raw.new_page()
        raw_page.goto(f"{portal}/orders/{order_id}/business")
        _fill_bad(raw_page)
        # A number of the right shape that does not exist in the US: only the server knows.
        raw_page.fill("#phone", "(017) 555-0123")
        with raw_page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/business")
        ) as answered:
            _save_button(raw_page).click()
        assert answered.value.status == 400
        raw_page.wait_for_load_state()
        for field, message in BAD_INPUT_ERRORS.items():
            assert _error(raw_page, field) == message
        assert "not a valid phone number in United States" in _error(raw_page, "phone")
        assert raw_page.locator("#business_name").get_attribute("aria-invalid") == "true"
        assert raw_page.locator("#business_name").input_value() == "B"
    finally:
        raw.close()
    assert _business_name_in_db(stack, order_id) == (None, 0)

    # 5. A valid form: saved, the job created pending (no worker runs yet).
    _fill_valid(page)
    with page.expect_navigation():
        _save_button(page).click()
    page.wait_for_url(re.compile(re.escape(portal) + r"/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    with psycopg.connect(stack.db_url) as conn:
        job = conn.execute(
            "select status::text, order_id::text, business_snapshot from jobs where id = %s",
            (job_id,),
        ).fetchone()
        queued = conn.execute(
            "select count(*) from job_directories where job_id = %s", (job_id,)
        ).fetchone()
    assert job is not None
    assert job[0] == "pending"
    assert job[1] == order_id
    assert job[2]["phone"] == "+12175550123"
    assert job[2]["website"] == "https://bluebird-bakery.example"
    assert queued == (len(EXPECTED),)
    assert f"0 of {len(EXPECTED)}" in page.locator("#job-progress-text").inner_text()

    # 6. A worker starts; the page follows each attempt live, in the same document.
    navigations: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    page.evaluate(
        """() => {
             window.__sameDocument = 'yes';
             window.__progressSeen = [];
             window.setInterval(() => {
               const bar = document.querySelector('#job-progress');
               const seen = window.__progressSeen;
               if (bar && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
             }, 50);
           }"""
    )
    page.wait_for_selector('#job[data-realtime="true"]', timeout=WAIT_MS)
    stack.start_worker("worker-1", CONTEXTS="1")
    page.wait_for_function(
        "() => document.querySelector('#job-progress').value >= 1", timeout=JOB_TIMEOUT_MS
    )
    page.wait_for_selector("#job-report:not([hidden])", timeout=JOB_TIMEOUT_MS)
    assert page.locator("#job-status").inner_text() == "Complete"
    assert page.evaluate("window.__sameDocument") == "yes"
    assert navigations == [], f"the job page navigated: {navigations}"
    seen: list[float] = page.evaluate("window.__progressSeen")
    # With one context the directories finish one by one: the bar moved through the
    # values in between, not just from nothing to everything.
    assert seen[0] == 0
    assert seen[-1] == len(EXPECTED)
    assert len(seen) >= 3, seen

    numbers = _database_numbers(stack, job_id)
    assert {d: (s, a) for d, (s, a, _url) in numbers["rows"].items()} == EXPECTED
    # The report frozen by jobs_complete agrees with the tables …
    summary = numbers["summary"]
    for key in ("successes", "failures", "attempts", "retries"):
        assert summary[key] == numbers[key], key
    assert summary["by_status"].get("needs_action", 0) == numbers["needs_action"]
    assert summary["by_status"].get("needs_review", 0) == numbers["needs_review"]
    # … and the page's counts are the database's.
    counts = page.locator("#job-counts").inner_text().replace("\n", " ")
    assert f"{numbers['successes']} Submitted" in counts
    assert f"{numbers['failures']} Not submitted" in counts
    assert f"{numbers['needs_action']} Needs your action" in counts

    # 7. The report page, then the two downloads.
    page.locator("#job-report-link").click()
    page.wait_for_url(f"{portal}/jobs/{job_id}/report")
    for key in NUMBER_KEYS:
        shown = page.locator(f'dd[data-field="{key}"]').inner_text()
        assert shown == str(numbers[key]), key

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    csv_path = tmp_path / "report.csv"
    csv_download.value.save_as(csv_path)
    csv_summary, csv_rows = _parse_csv(csv_path.read_bytes().decode("utf-8"))
    assert csv_summary["job_id"] == job_id
    assert csv_summary["job_status"] == "complete"
    assert csv_summary["business"] == "Bluebird Bakery"
    for key in NUMBER_KEYS:
        assert csv_summary[key] == str(numbers[key]), key
    assert {
        row["directory_id"]: (row["status"], int(row["attempts"]), row["listing_url"] or None)
        for row in csv_rows
    } == numbers["rows"]

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download PDF (US Letter)").click()
    pdf_path = tmp_path / "report.pdf"
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    text = " ".join(page_.extract_text() or "" for page_ in PdfReader(str(pdf_path)).pages)
    text = re.sub(r"\s+", " ", text)
    for key, label in PDF_LABELS.items():
        match = re.search(re.escape(label) + r" (\d+)", text)
        assert match, f"{label!r} not in the PDF: {text[:2000]}"
        assert int(match.group(1)) == numbers[key], key
    with psycopg.connect(stack.db_url) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "select name from directories where id = any(%s)", (list(EXPECTED),)
            )
        ]
    for name in names:
        assert re.sub(r"\s+", " ", name) in text, f"{name!r} not in the PDF"

    # The worker submitted each directory that accepted the business exactly once.
    accepted = Counter(s["site"] for s in stack.submissions())
    assert set(accepted.values()) == {1}
    # Each listing carries the public email the form was given, never the buyer's sign-in.
    assert {s["fields"].get("email") for s in stack.submissions()} == {
        "hello@bluebird-bakery.example"
    }
