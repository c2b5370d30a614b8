"""Directory health's re-verify in real Chromium at 1280 px and 390 px, against the portal
(uvicorn), the Auth stand-in and a real orchestrator on one database seeded by SQL: a
directory the canary found drifted is listed first, marked drifted; pressing its Re-verify
button brings it back (the row says enabled, the database has no drift and a fresh
verified_at, the audit log names the staff member); axe-core finds nothing serious and on a
phone nothing scrolls sideways.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect
from psycopg.types.json import Jsonb

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
from tests.support.queue_helpers import create_job, enable_test_directories, report
from tests.support.staff_stack import STAFF_EMAIL, StaffStack, claim, staff_stack

Conn = psycopg.Connection[Any]
DRIFTING = "test-dir-02"


@dataclass
class Seeded:
    stack: StaffStack
    token: str
    queries: Queries


@pytest.fixture(scope="module")
def seeded(
    cluster: None, queries: Queries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    db_url = localdb.fresh(f"pytest_{os.getpid()}_staff_directories")
    with psycopg.connect(db_url, autocommit=True) as conn:
        dirs = enable_test_directories(conn, 3)
        create_job(conn, queries)
        job = claim(conn, queries)
        report(conn, queries, job, dirs[0], duration_ms=900)
        for directory_id in dirs:
            _canary(conn, queries, directory_id, "0" * 64)
    artifacts = tmp_path_factory.mktemp("artifacts")
    with staff_stack(db_url, artifacts, http_server=True) as stack:
        yield Seeded(stack, stack.staff_token(), queries)


def _canary(conn: Conn, queries: Queries, directory_id: str, digest: str) -> dict[str, Any]:
    row = queries.fetch_one(
        conn,
        "directories_record_canary",
        directory_id=directory_id,
        signature=Jsonb({"fields": [digest[:6]]}),
        digest=digest,
        failed_step=None,
        error=None,
    )
    assert row is not None
    result: dict[str, Any] = row["result"]
    return result


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(params=[DESKTOP, PHONE_WIDE], ids=["1280px", "390px"])
def page(request: pytest.FixtureRequest, browser: Browser, seeded: Seeded) -> Iterator[Page]:
    # The form changes under the canary: a new digest each time, so each width starts drifted.
    digest = format(request.param["width"], "x").rjust(64, "f")
    with psycopg.connect(seeded.stack.db_url, autocommit=True) as conn:
        assert _canary(conn, seeded.queries, DRIFTING, digest)["newly_drifted"]
    context = signed_in_context(browser, seeded.stack.portal_url, seeded.token, request.param)
    yield context.new_page()
    context.close()


def _checked(page: Page) -> None:
    assert not axe_violations(page), (page.url, axe_violations(page))
    if page.viewport_size and page.viewport_size["width"] < 1000:
        assert_fits_width(page)


def test_reverify_brings_a_drifted_directory_back(page: Page, seeded: Seeded) -> None:
    response = page.goto(f"{seeded.stack.portal_url}/staff/directories")
    assert response is not None
    assert response.status == 200
    _checked(page)
    rows = page.locator("tr[data-directory-id]")
    expect(rows.first).to_have_attribute("data-directory-id", DRIFTING)
    row = page.locator(f"#dir-{DRIFTING}")
    expect(row).to_have_attribute("data-state", "drifted")
    expect(row.locator("[data-last-canary]")).to_contain_text("signature changed")
    expect(page.locator("#directory-summary")).to_contain_text("1 directory drifted")

    row.get_by_role("button", name=f"Re-verify Test directory {DRIFTING}").click()
    page.wait_for_url("**/staff/directories?done=reverify*")
    expect(page.locator("#directory-notice")).to_contain_text(f"{DRIFTING}: re-verified")
    row = page.locator(f"#dir-{DRIFTING}")
    expect(row).to_have_attribute("data-state", "enabled")
    expect(row.locator("[data-state-badge]")).to_have_text("enabled")
    expect(page.locator("#directory-summary")).to_contain_text("none drifted")
    _checked(page)

    with psycopg.connect(seeded.stack.db_url) as conn:
        state = conn.execute(
            "select drifted_at, verified_at > now() - interval '1 minute' from directories"
            " where id = %s",
            (DRIFTING,),
        ).fetchone()
        actors = conn.execute(
            "select actor from audit_log where action = 'directory.reverified'"
            " and directory_id = %s order by id desc limit 1",
            (DRIFTING,),
        ).fetchone()
    assert state == (None, True)
    assert actors == (f"staff:{STAFF_EMAIL}",)
