"""The package count is a promise, end to end over the sandbox, for each package size with a
catalogue smaller than the package (tests/support/e2e_stack.py, journey=True: a real worker
in Chromium, the orchestrator, the Stripe stand-in, the webhook's notifier and refunder, the
portal, the mail catcher).

For each package: a paid checkout; the job is enqueued while the catalogue holds three
sandbox directories, two of which cannot take the business (one already lists it, one's form
is gone); two more are then added to the catalogue (ops enabling directories while the job
waits), so the two that cannot take the business are replaced by them. The job completes
three directories delivered of the package's 50, 100 or 300: the shortfall is refunded once
through Stripe's refund API (the stand-in's own records hold exactly one refund, of exactly
the pro-rata amount), and the job page, the completion email, the CSV and the PDF report say
the same numbers.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from pypdf import PdfReader

from dbolt.directories import sync_directories
from dbolt.package_promise import format_amount
from tests.support.e2e_stack import Stack, running_stack, wait_for_job, wait_until
from tests.support.portal_harness import sign_in_cookies
from tests.support.webhook_harness import fill_business

pytestmark = pytest.mark.slow

AT_ENQUEUE = ("sandbox-plain", "sandbox-duplicate", "sandbox-form-gone")
ADDED_LATER = ("sandbox-multistep", "sandbox-hours")
PACKAGES = (("starter", 50), ("growth", 100), ("professional", 300))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _use_catalogue(stack: Stack, entries: list[dict[str, Any]], ids: tuple[str, ...]) -> None:
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        sync_directories(conn, [e for e in entries if e["id"] in ids])


def _pay(stack: Stack, tier: str, email: str) -> dict[str, Any]:
    """The checkout Edge Function through the gateway, paid on the hosted page: a paid order."""
    created = httpx.post(
        stack.url("supabase") + "/functions/v1/checkout",
        json={"tier": tier, "email": email},
        headers={"apikey": stack.anon_key, "Authorization": f"Bearer {stack.anon_key}"},
        timeout=15,
    )
    assert created.status_code == 200, created.text
    paid = httpx.post(created.json()["url"] + "/pay", data={"outcome": "card"}, timeout=30)
    assert paid.status_code == 303, paid.text

    def order() -> dict[str, Any] | None:
        with psycopg.connect(stack.db_url, row_factory=dict_row) as conn:
            return conn.execute(
                "select o.*, c.user_id from orders o join customers c on c.id = o.customer_id"
                " where c.email = %s and o.status = 'paid' and c.user_id is not null",
                (email,),
            ).fetchone()

    paid_order: dict[str, Any] = wait_until(
        order, 60, f"the paid order of {email} with its signed-in customer"
    )
    return paid_order


def _rows(stack: Stack, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(stack.db_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def _check_package(stack: Stack, entries: list[dict[str, Any]], tier: str, promised: int) -> None:
    email = f"owner-{tier}@promise-bakery.example"
    _use_catalogue(stack, entries, AT_ENQUEUE)
    order = _pay(stack, tier, email)
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        fill_business(conn, order["customer_id"])
        row = conn.execute("select id from jobs_enqueue(%s)", (order["id"],)).fetchone()
        assert row is not None
        job_id = str(row[0])
    # The catalogue grows while the job waits: still far smaller than the package.
    _use_catalogue(stack, entries, AT_ENQUEUE + ADDED_LATER)
    worker = stack.start_worker(f"worker-{tier}")
    wait_for_job(stack, job_id, {"complete"}, timeout=240)
    worker.terminate()
    worker.wait(timeout=30)

    # Replacements: each directory that could not take the business was replaced, once.
    directories = {
        r["directory_id"]: r
        for r in _rows(
            stack,
            "select directory_id, status::text, last_error_code, replaced_by"
            " from job_directories where job_id = %s",
            job_id,
        )
    }
    assert set(directories) == set(AT_ENQUEUE + ADDED_LATER)
    assert directories["sandbox-duplicate"]["last_error_code"] == "duplicate_listing"
    assert directories["sandbox-form-gone"]["last_error_code"] == "form_gone"
    assert {
        directories["sandbox-duplicate"]["replaced_by"],
        directories["sandbox-form-gone"]["replaced_by"],
    } == set(ADDED_LATER)
    delivered = sorted(d for d, r in directories.items() if r["status"] in ("submitted", "live"))
    assert delivered == sorted(("sandbox-plain", *ADDED_LATER)), directories

    # The shortfall, refunded once through Stripe, pro rata.
    short = promised - 3
    amount = order["amount_total"] * short // promised

    def refunded() -> dict[str, Any] | None:
        rows = _rows(
            stack,
            "select * from shortfall_refunds where job_id = %s and refunded_at is not null",
            job_id,
        )
        return rows[0] if rows else None

    recorded = wait_until(refunded, 60, f"the {tier} shortfall refunded")
    assert (recorded["promised"], recorded["delivered"], recorded["shortfall"]) == (
        promised,
        3,
        short,
    )
    assert recorded["refunded_amount"] == recorded["amount"] == amount
    stripe_refunds = [
        r
        for r in httpx.get(stack.url("stripe") + "/_admin/refunds", timeout=10).json()["refunds"]
        if r["payment_intent"] == order["stripe_payment_intent_id"]
    ]
    assert [(r["id"], r["amount"]) for r in stripe_refunds] == [
        (recorded["stripe_refund_id"], amount)
    ], "Stripe's records hold one refund of the pro-rata amount"
    money = format_amount(amount, order["currency"])
    assert money is not None
    numbers = f"Your package promised {promised} directories: 3 delivered."
    replaced = "2 directories could not take your business"
    refund_said = f"We could not deliver {short} directories: {money}"

    # The same numbers on the job page, in the email, the CSV and the PDF.
    cookies = sign_in_cookies(order["user_id"], email)
    with httpx.Client(base_url=stack.portal_url, cookies=cookies, timeout=60) as portal:
        page = _text(portal.get(f"/jobs/{job_id}").text)
        assert numbers in page
        assert replaced in page
        assert f"{refund_said} was refunded to your card." in page
        for gone in ("sandbox-duplicate", "sandbox-form-gone"):
            by = next(e["name"] for e in entries if e["id"] == directories[gone]["replaced_by"])
            assert f"Replaced by {by}." in page

        # Where the customer sees their orders, the same numbers and refund, in the same words.
        account = _text(portal.get("/account").text)
        assert numbers in account
        assert f"{refund_said} was refunded to your card." in account

        report_csv = portal.get(f"/jobs/{job_id}/report.csv")
        assert report_csv.status_code == 200, report_csv.text
        summary_part, directories_part = report_csv.text.lstrip("\ufeff").split("\r\n\r\n", 1)
        summary = dict(csv.reader(io.StringIO(summary_part)))
        assert (summary["promised"], summary["delivered"], summary["replaced"]) == (
            str(promised),
            "3",
            "2",
        )
        assert (summary["shortfall"], summary["refund"], summary["refund_status"]) == (
            str(short),
            money,
            "refunded",
        )
        fates = {
            r["directory_id"]: r["what_became_of_it"]
            for r in csv.DictReader(io.StringIO(directories_part))
        }
        assert fates["sandbox-duplicate"].startswith("Replaced by ")

        pdf = portal.get(f"/jobs/{job_id}/report.pdf")
        assert pdf.status_code == 200, pdf.text[:500]
        pdf_text = re.sub(
            r"\s+",
            " ",
            " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages),
        )
        assert numbers in pdf_text
        assert refund_said in pdf_text

    # The payment email said what the package delivers today, as the pricing page does.
    payment = stack.wait_for_mail(email, "payment received")
    assert re.search(
        r"Today our catalogue has up to \d directories for this package",
        re.sub(r"\s+", " ", payment["text"]),
    )
    mail = stack.wait_for_mail(email, "report", timeout=60)
    mail_text = re.sub(r"\s+", " ", mail["text"])
    assert numbers in mail_text
    assert replaced in mail_text
    assert refund_said in mail_text
    assert "Replaced by " in mail_text


def test_each_package_gets_replacements_and_its_shortfall_refunded_once(
    db_url: str, tmp_path: Path
) -> None:
    with running_stack(db_url, tmp_path, journey=True) as stack:
        entries = stack.sync_sandbox_directories()
        for tier, promised in PACKAGES:
            _check_package(stack, entries, tier, promised)
