"""The customer's job page, report and CSV say each listing's last live check in plain words
and the business's NAP consistency; staff read every check with what the page showed."""

from __future__ import annotations

import csv
import io
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from portal.reports.live_checks import short_date
from tests.support.portal_harness import PortalStack
from tests.support.portal_jobs import make_job


def _check(db_url: str, directory_id: str, result: str, **fields: Any) -> None:
    """A worker's check of the directory's due listing, through the SQL the orchestrator runs."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "update listing_checks set due_at = now()"
            " where directory_id = %s and checked_at is null",
            (directory_id,),
        )
        claimed = conn.execute(
            "select check_id, lease_token from listing_checks_claim('w-live', 10, 60)"
        ).fetchall()
        assert len(claimed) == 1, claimed
        ((check_id, token),) = claimed
        conn.execute(
            "select listing_checks_report(%s, %s, %s, %s::numeric, %s::text[], %s::jsonb, %s)",
            (
                check_id,
                token,
                result,
                fields.get("nap_score"),
                fields.get("mismatched_fields", []),
                Jsonb(fields.get("observed", {})),
                fields.get("message"),
            ),
        )


def test_each_listing_says_its_last_check_and_the_business_its_consistency(
    portal_stack: PortalStack,
) -> None:
    stack = portal_stack
    job = make_job(stack, "nap@example.com", directories=4)
    live, wrong, later, no_url = job.directories
    job.claim()
    for directory_id in (live, wrong, later):
        job.report(directory_id, listing_url=f"https://listings.example/{directory_id}")
    job.report(no_url)
    job.complete()

    _check(stack.db_url, live, "live", nap_score=1)
    _check(
        stack.db_url,
        wrong,
        "live_mismatch",
        nap_score=0.667,
        mismatched_fields=["phone"],
        observed={"phone": "(217) 555-9876"},
        message="the listing shows a different phone",
    )
    _check(stack.db_url, later, "not_found", message="HTTP 404")
    (next_due,) = job.sql(
        "select due_at from listing_checks where directory_id = %s and checked_at is null", later
    )[0]

    page = stack.client.get(f"/jobs/{job.id}", cookies=job.customer.cookies)
    assert page.status_code == 200
    today = short_date(job.sql("select now()")[0][0])
    assert f"Checked live on {today}." in page.text
    assert "Live, but the phone number shown is wrong" in page.text
    assert f"Not found yet — we check again on {short_date(next_due)}." in page.text
    assert "Your details match on 1 of 2 listings" in page.text
    # Staff detail never reaches the customer's page.
    assert "555-9876" not in page.text
    assert "HTTP 404" not in page.text

    report = stack.client.get(f"/jobs/{job.id}/report", cookies=job.customer.cookies)
    assert report.status_code == 200
    assert "Are your listings live?" in report.text
    assert "Live, but the phone number shown is wrong" in report.text

    csv_text = stack.client.get(
        f"/jobs/{job.id}/report.csv", cookies=job.customer.cookies
    ).content.decode("utf-8-sig")
    summary_part, directories_part = csv_text.split("\r\n\r\n", 1)
    summary = dict(row for row in csv.reader(io.StringIO(summary_part)) if len(row) == 2)
    assert summary["nap_consistency"] == "0.834"
    rows = {r["directory_id"]: r for r in csv.DictReader(io.StringIO(directories_part))}
    assert rows[wrong]["last_check"].startswith("Live, but the phone number shown is wrong")
    assert rows[wrong]["nap_score"] == "0.667"
    assert rows[no_url]["last_check"] == ""

    staff = stack.client.get(f"/staff/jobs/{job.id}", cookies=stack.staff())
    assert staff.status_code == 200
    assert "Live checks (6)" in staff.text
    assert "phone: (217) 555-9876" in staff.text
    assert "HTTP 404" in staff.text


def test_a_listing_never_found_says_not_live(portal_stack: PortalStack) -> None:
    stack = portal_stack
    job = make_job(stack, "gone@example.com", directories=1)
    (only,) = job.directories
    job.claim()
    job.report(only, listing_url="https://listings.example/gone")
    job.complete()
    job.sql("update listing_checks set seq = 4 where directory_id = %s", only)
    _check(stack.db_url, only, "not_found")
    page = stack.client.get(f"/jobs/{job.id}", cookies=job.customer.cookies)
    assert "Not live: the directory never showed your listing." in page.text
    assert "Your details match" not in page.text
