"""The staff jobs list's Older/Newer links in real Chromium at 1280 px and 390 px, against the
portal (uvicorn), the Auth/Realtime stand-in and a real orchestrator on one database seeded by
SQL: following Older then Newer with a filter shows each page's jobs, keeps the filter in the
URL and the form, and axe-core finds nothing serious; on a phone nothing scrolls sideways.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from dbolt.sql import Queries
from devstack import localdb
from tests.support.browser import (
    DESKTOP,
    PHONE_WIDE,
    assert_fits_width,
    axe_violations,
    chromium,
    signed_in_context,
)
from tests.support.queue_helpers import create_job, enable_test_directories
from tests.support.staff_stack import StaffStack, staff_stack

Conn = psycopg.Connection[Any]
STARTER, GROWTH = 30, 4


@dataclass
class Seeded:
    stack: StaffStack
    token: str
    starter_newest_first: list[str]


@pytest.fixture(scope="module")
def seeded(
    cluster: None, queries: Queries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    db_url = localdb.fresh(f"pytest_{os.getpid()}_staff_jobs_paging")
    with psycopg.connect(db_url, autocommit=True) as conn:
        enable_test_directories(conn, 2)
        for n in range(STARTER):
            create_job(conn, queries, email=f"shop{n:02d}@example.com")
        for n in range(GROWTH):
            create_job(conn, queries, tier="growth", email=f"big{n:02d}@example.net")
        # Four jobs to a created_at, so the page boundary falls inside a group of ties.
        conn.execute(
            "update jobs j set created_at = '2026-03-01 12:00+00'::timestamptz"
            "   + (o.n / 4) * interval '1 minute'"
            " from (select id, row_number() over (order by id) as n from jobs) o"
            " where o.id = j.id"
        )
        starter = [
            str(r[0])
            for r in conn.execute(
                "select id from jobs where tier = 'starter' order by created_at desc, id desc"
            ).fetchall()
        ]
    artifacts = tmp_path_factory.mktemp("artifacts")
    with staff_stack(db_url, artifacts, http_server=True) as stack:
        yield Seeded(stack, stack.staff_token(), starter)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(params=[DESKTOP, PHONE_WIDE], ids=["1280px", "390px"])
def page(request: pytest.FixtureRequest, browser: Browser, seeded: Seeded) -> Iterator[Page]:
    context = signed_in_context(browser, seeded.stack.portal_url, seeded.token, request.param)
    yield context.new_page()
    context.close()


def _checked(page: Page) -> None:
    assert not axe_violations(page), (page.url, axe_violations(page))
    if page.viewport_size and page.viewport_size["width"] < 1000:
        assert_fits_width(page)


def _shown(page: Page) -> list[str]:
    ids: list[str] = page.locator("#jobs-table tr[data-job-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.jobId)"
    )
    return ids


def test_older_and_newer_links_page_through_a_filtered_list(page: Page, seeded: Seeded) -> None:
    response = page.goto(f"{seeded.stack.portal_url}/staff/jobs?tier=starter")
    assert response is not None
    assert response.status == 200
    _checked(page)
    first = seeded.starter_newest_first[:25]
    assert _shown(page) == first
    older = page.get_by_role("link", name="Older jobs")
    expect(older).to_be_visible()
    assert page.get_by_role("link", name="Newer jobs").count() == 0
    assert page.locator("[data-jobs-total]").count() == 0, "no count with a tier filter"

    older.click()
    page.wait_for_url("**/staff/jobs?*before=*")
    assert "tier=starter" in page.url
    expect(page.locator("#f-tier")).to_have_value("starter")
    assert _shown(page) == seeded.starter_newest_first[25:]
    assert page.get_by_role("link", name="Older jobs").count() == 0
    _checked(page)

    page.get_by_role("link", name="Newer jobs").click()
    page.wait_for_url("**/staff/jobs?*after=*")
    assert "tier=starter" in page.url
    assert _shown(page) == first
    expect(page.get_by_role("link", name="Older jobs")).to_be_visible()
    _checked(page)

    # Unfiltered, the jobs counters give the exact count beside the links.
    page.goto(f"{seeded.stack.portal_url}/staff/jobs")
    expect(page.locator("[data-jobs-total]")).to_have_text(f"{STARTER + GROWTH} jobs")
    _checked(page)
