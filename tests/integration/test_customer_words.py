"""Customers read plain reasons; staff read what the browser said. Attempts are seeded with
raw driver errors, selectors and proxy addresses (as a worker reports them), and none of it
reaches the job page, its live rows, the CSV, the PDF or the emails, while the staff
drill-down shows all of it (real Postgres, the real portal, Chromium for the PDF)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import psycopg

from dbolt.refusals import directory_reason, field_message
from dbolt.sql import Queries
from dbolt.words import duration
from tests.integration.test_portal_reports import pdf_pages
from tests.support.portal_harness import PortalStack
from tests.support.portal_jobs import Job, finished_job, make_job
from webhook import emails

# What a worker's attempt messages really look like: none of it is for a customer.
RAW = (
    "Timeout 8000ms exceeded",
    "locator('#biz-name')",
    "net::ERR_PROXY_CONNECTION_FAILED",
    "proxy-3.internal:3128",
    "button[type=submit]",
    "playwright",
)
PROXY = "http://user:secret@proxy-3.internal:3128"


def _story(job: Job) -> dict[str, str]:
    """Each directory's seeded attempt; returns the plain reason each must show."""
    d = job.directories
    with psycopg.connect(job.db_url, autocommit=True) as conn:
        conn.execute("update directories set phone_countries = '{GB}' where id = %s", (d[2],))
    job.claim()
    job.report(
        d[0],
        "permanent_error",
        error_code="site_down",
        message=f"net::ERR_PROXY_CONNECTION_FAILED at {PROXY} (playwright)",
        proxy=PROXY,
    )
    job.report(
        d[1],
        "permanent_error",
        error_code="recipe_drift",
        message="step 2 (fill): selector locator('#biz-name') not found; Timeout 8000ms exceeded",
    )
    job.report(
        d[2],
        "skipped",
        error_code="phone_not_accepted",
        message=field_message("phone", f"phone countries GB; via {PROXY}"),
    )
    job.report(
        d[3],
        "skipped",
        error_code="country_not_accepted",
        message="the directory lists businesses in GB; button[type=submit]",
    )
    job.report(
        d[4],
        "permanent_error",
        error_code="category_unmatched",
        message=field_message("category", "no option fits 'bakery' in locator('#biz-name')"),
    )
    job.report(
        d[5],
        "permanent_error",
        error_code="field_rejected",
        message=field_message("postal_code", "the site refused: ZIP code; Timeout 8000ms exceeded"),
    )
    job.report(
        d[6],
        "success",
        confirmed=False,
        message="the recipe's confirmation was not on the page: button[type=submit]",
    )
    job.complete()
    return {
        d[0]: "the site is down",
        d[1]: "the site's form changed; our team will update how we fill it in",
        d[2]: "the site asked for a UK phone number",
        d[3]: "the site does not list businesses in the United States",
        d[4]: "none of the site's categories fit a bakery",
        d[5]: "the site did not accept your postal code",
    }


def _no_raw(text: str, where: str) -> None:
    for raw in RAW:
        assert raw not in text, f"{raw!r} reached the {where}"


def test_customers_read_plain_reasons_and_staff_read_the_raw_messages(
    portal_stack: PortalStack,
) -> None:
    job = make_job(portal_stack, "words@example.com", directories=7)
    reasons = _story(job)
    cookies = job.customer.cookies
    client = portal_stack.client

    page = client.get(f"/jobs/{job.id}", cookies=cookies)
    assert page.status_code == 200
    _no_raw(page.text, "job page")
    for reason in reasons.values():
        assert reason.replace("'", "&#39;") in page.text, reason

    report = client.get(f"/jobs/{job.id}/report", cookies=cookies).text
    _no_raw(report, "report page")

    body = client.get(f"/jobs/{job.id}/report.csv", cookies=cookies).content.decode("utf-8-sig")
    _no_raw(body, "CSV")
    rows = list(csv.DictReader(io.StringIO(body.split("\r\n\r\n", 1)[1])))
    assert {row["directory_id"]: row["reason"] for row in rows if row["reason"]} == reasons

    pdf = client.get(f"/jobs/{job.id}/report.pdf", cookies=cookies)
    assert pdf.status_code == 200
    text = re.sub(r"\s+", " ", " ".join(pdf_pages(pdf.content)))
    _no_raw(text, "PDF")
    assert "the site asked for a UK phone number" in text
    assert "none of the site's categories fit a bakery" in text

    with psycopg.connect(portal_stack.db_url) as conn:
        noted = Queries.load().fetch_one(conn, "jobs_get_for_notification", job_id=job.id)
    assert noted is not None
    for email in (
        emails.job_complete(noted, "https://portal.example/report"),
        emails.job_started(noted, "https://portal.example/job"),
    ):
        message = email.message("words@example.com")
        _no_raw(message.as_string(), "email")
    complete = emails.job_complete(noted, "https://portal.example/report")
    # The completion email says why, in the same words as the job page (as a sentence,
    # followed by what became of the directory).
    for directory_id, reason in reasons.items():
        said = f"Test directory {directory_id}: {reason[0].upper()}{reason[1:]}."
        assert any(item.startswith(said) for item in complete.items), said

    staff = client.get(f"/staff/jobs/{job.id}", cookies=portal_stack.staff())
    assert staff.status_code == 200
    for raw in ("Timeout 8000ms exceeded", "locator(", "ERR_PROXY_CONNECTION_FAILED"):
        assert raw in staff.text.replace("&#39;", "'"), raw
    assert "proxy-3.internal:3128" in staff.text


def test_a_reason_is_built_only_from_known_details() -> None:
    job: dict[str, Any] = {"business_country": "GB", "business_category_label": "Plumber"}
    row: dict[str, Any] = {"last_error_code": "category_unmatched", "last_message": "x"}
    assert directory_reason(row, job) == "none of the site's categories fit a plumber"
    row = {"last_error_code": "country_not_accepted"}
    assert directory_reason(row, job) == "the site does not list businesses in the United Kingdom"
    row = {"last_error_code": "phone_not_accepted", "phone_countries": ["US"]}
    assert directory_reason(row, job) == "the site asked for a US phone number"
    # A message that does not start with a known field name gives the general words.
    row = {"last_error_code": "field_rejected", "last_message": "<script>: ERR_X"}
    assert directory_reason(row, job) == "the site did not accept one of your details"
    row = {"last_error_code": "some_new_code", "last_message": "Timeout 8000ms exceeded"}
    reason = directory_reason(row, job)
    assert reason is not None
    assert "Timeout" not in reason


# A count that disagrees with its noun: "1 directories", "0 directory", "24 directory".
MISCOUNTED = re.compile(
    r"\b(?:1 (?:directories|listings|minutes)|(?:0|[2-9]|[1-9]\d+) directory)\b"
)


def test_the_report_and_its_csv_say_one_directory_and_several_in_words(
    portal_stack: PortalStack,
) -> None:
    one = make_job(portal_stack, "one@example.com", directories=1)
    one.claim()
    one.report(one.directories[0], "needs_action", action_required="Answer the directory's call.")
    one.complete()
    several = finished_job(portal_stack, "several@example.com")  # 5 directories
    client = portal_stack.client
    for job, delivered in ((one, 0), (several, 2)):
        page = client.get(f"/jobs/{job.id}/report", cookies=job.customer.cookies).text
        text = " ".join(re.sub(r"<[^>]+>", " ", page).replace("&#39;", "'").split())
        seconds = int(job.report_row()["summary"]["seconds_to_complete"])
        took = re.search(r'data-field="seconds_to_complete"[^>]*>([^<]+)<', page)
        assert took is not None
        assert took.group(1) == duration(seconds)  # "less than a minute", never "under a minute"
        assert f"Your package promised 50 directories: {delivered} delivered." in text
        csv_text = client.get(f"/jobs/{job.id}/report.csv", cookies=job.customer.cookies).text
        for said in (text, csv_text):
            assert not MISCOUNTED.search(said), MISCOUNTED.search(said)
            assert "under a minute" not in said
