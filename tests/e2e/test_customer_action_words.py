"""A directory that needs the customer (the sandbox's email-verify site) gets our words on the
customer's job page, never the site's: real orchestrator, a worker driving Chromium, the real
database and the portal. The site's own sentence is kept for staff, on the staff drill-down."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from tests.support.e2e_stack import running_stack, wait_for_job
from tests.support.portal_harness import sign_in_cookies
from tests.support.sample_business import sample_business
from tests.support.staff_stack import make_auth_user

pytestmark = pytest.mark.slow

SITE = "sandbox-email-verify"
EMAIL = "owner.signin@buyer.example"
PUBLIC_EMAIL = "hello@bluebird-bakery.example"
BUSINESS = sample_business(
    business_name="Bluebird Test Bakery",
    public_email=PUBLIC_EMAIL,
    hours={day: [{"open": "08:00", "close": "17:00"}] for day in ("mon", "tue", "wed")}
    | {day: [] for day in ("thu", "fri", "sat", "sun")},
)
# The site's own words (devstack/sandbox/sites/standard.py VERIFY_TEXT).
SITE_SENTENCE = f"We sent a verification email to {PUBLIC_EMAIL}"


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_customer_reads_our_words_and_staff_read_the_sites(db_url: str, tmp_path: Path) -> None:
    with running_stack(db_url, tmp_path, portal=True) as stack:
        entries = stack.sync_sandbox_directories(only={SITE})
        name = entries[0]["name"]
        stack.start_worker("worker-a")
        with psycopg.connect(stack.db_url, autocommit=True) as conn:
            order = conn.execute(
                "select dev.create_paid_order(%s, 'starter', %s)", (EMAIL, Jsonb(BUSINESS))
            ).fetchone()
            assert order is not None
            job = Queries.load().fetch_one(conn, "jobs_enqueue", order_id=order[0])
            assert job is not None
            user = conn.execute("select user_id from customers where email = %s", (EMAIL,))
            user_id = user.fetchone()
            assert user_id is not None
        job_id = str(job["id"])
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        row = next(d for d in detail["directories"] if d["directory_id"] == SITE)
        assert row["status"] == "needs_action", stack.log("worker-a")[-3000:]
        ours = (
            f"{name} sent a confirmation email to your business email ({PUBLIC_EMAIL});"
            " open it and click the link in it."
        )
        assert row["action_required"] == ours

        cookies = sign_in_cookies(user_id[0], EMAIL)
        with httpx.Client(base_url=stack.portal_url, cookies=cookies, timeout=60) as portal:
            page = _text(portal.get(f"/jobs/{job_id}").text)
            report = portal.get(f"/jobs/{job_id}/report.csv").text
        assert ours in page
        assert SITE_SENTENCE not in page
        assert "Click the link in it to publish" not in page
        assert SITE_SENTENCE not in report

        staff_email = "ops@directorybolt.example"
        staff_id = make_auth_user(stack.db_url, staff_email, "staff")
        staff_cookies = sign_in_cookies(staff_id, staff_email, "staff")
        with httpx.Client(base_url=stack.portal_url, cookies=staff_cookies, timeout=60) as staff:
            drill_down = _text(staff.get(f"/staff/jobs/{job_id}").text)
        assert SITE_SENTENCE in drill_down, "staff read what the site asked"
        # The page's heading and its message, as two sentences (not "…email Almost done!").
        assert "Check your email. Almost done! We sent a verification email" in drill_down
        assert ours in drill_down
