"""The accounts we opened for a customer, in real Chromium at phone width (390 px): the job
page lists them in plain words, "Show password" (a real form POST through the portal's
origin guard) shows that one password in its card, audited, the page still fits the screen,
and axe-core finds no serious or critical accessibility violations."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from tests.e2e.test_review_queue_browser import (
    PHONE,
    browser,
    overflows,
    page_for,
    serious_violations,
)
from tests.support.orchestrator_harness import WORKER
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import make_job, served_portal

__all__ = ["browser"]  # the Chromium fixture, shared with the review queue's browser tests


def test_a_customer_on_a_phone_sees_their_accounts_and_one_password(
    api: TestClient, portal_stack: PortalStack, browser: Browser, conn: psycopg.Connection[Any]
) -> None:
    job = make_job(portal_stack, "phone-accounts@example.com", directories=2)
    claimed = api.post("/jobs-next", json={"worker_id": "w-phone"}, headers=WORKER).json()
    lease = {"lease_token": claimed["lease_token"]}
    opened = []
    for directory_id in job.directories:
        assert (
            api.post(
                f"/jobs/{job.id}/directories/{directory_id}/start", json=lease, headers=WORKER
            ).status_code
            == 200
        )
        account = api.post(
            f"/jobs/{job.id}/directories/{directory_id}/account", json=lease, headers=WORKER
        )
        assert account.status_code == 200, account.text
        opened.append(account.json())

    with served_portal(portal_stack) as (url, _app):
        token = access_token(job.customer.user_id, job.customer.email)
        page = page_for(browser, url, token, PHONE)
        page.goto(f"{url}/jobs/{job.id}")
        section = page.locator("#accounts")
        expect(section.get_by_role("heading", level=2)).to_have_text("Accounts we opened for you")
        cards = section.locator(".account-item")
        expect(cards).to_have_count(2)
        expect(cards.nth(0)).to_contain_text(opened[0]["login"])
        expect(section).not_to_contain_text(opened[0]["password"])
        assert not overflows(page), "the accounts fit the phone without sideways scrolling"
        assert serious_violations(page) == []

        cards.nth(0).get_by_role("button", name="Show password").click()
        expect(page.locator("#account-revealed-notice")).to_be_visible()
        expect(page.locator(".account-item").nth(0).locator("[data-revealed]")).to_have_text(
            opened[0]["password"]
        )
        expect(page.locator("#accounts")).not_to_contain_text(opened[1]["password"])
        assert not overflows(page), "a shown password still fits the phone"
        assert serious_violations(page) == []
    actors = conn.execute(
        "select actor from audit_log where action = 'directory_account.revealed'"
    ).fetchall()
    assert actors == [(f"user:{job.customer.user_id}",)]
