"""The staff dashboard's finishing fixes, in real Chromium at 1280 px and 390 px, against the
portal (uvicorn), the Auth/Realtime stand-in and a real orchestrator on one database seeded
by SQL (no job is run): an acknowledged alert reads as acknowledged, not open; no "was 0 %"
where there was no earlier data; a cancelled job says what was done and what was cancelled;
success rates leave out attempts waiting on customers or reviews; every chart label lies
inside its chart; a job of 500 directories has a short drill-down whose state chips and
pages work and live in the URL. axe-core finds nothing serious on any of these pages.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
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
from tests.support.staff_stack import STAFF_EMAIL, StaffStack, staff_stack

Conn = psycopg.Connection[Any]
BIG = 500
WAIT_MS = 15_000


@dataclass
class Seeded:
    stack: StaffStack
    token: str
    cancelled_job: uuid.UUID
    cancelled_total: int
    big_job: uuid.UUID


def _seed_alerts(conn: Conn) -> None:
    # Kinds the orchestrator's loops do not clear by themselves while the test runs.
    conn.execute("select alerts_raise('shortfall_refund_dead', 'A refund was refused')")
    conn.execute(
        "select alerts_acknowledge((select id from alerts where kind = 'shortfall_refund_dead'),"
        " %s)",
        (f"staff:{STAFF_EMAIL}",),
    )
    conn.execute("select alerts_raise('late_report_conflict', 'A late report disagrees')")


def _seed_rates(conn: Conn, job: uuid.UUID, dirs: list[str]) -> None:
    """dirs[0]: one success, one error, three waiting on the customer (50 %, not 20 %).
    dirs[1]: only waiting on the customer (no rate). dirs[2]: five errors now and nothing
    before (the failure-rate alert: "no earlier data")."""
    rows: list[tuple[str, int, str, bool, str | None, str | None]] = [
        (dirs[0], 1, "success", True, None, None),
        (dirs[0], 2, "permanent_error", False, "site_down", None),
        *[(dirs[0], n, "needs_action", False, None, "confirm by email") for n in (3, 4, 5)],
        (dirs[1], 1, "needs_action", False, None, "confirm by email"),
        *[(dirs[2], n, "permanent_error", False, "form_gone", None) for n in range(1, 6)],
    ]
    for directory, attempt, outcome, confirmed, code, action in rows:
        conn.execute(
            "insert into job_results (job_id, directory_id, attempt, outcome, confirmed,"
            " error_code, action_required) values (%s, %s, %s, %s, %s, %s, %s)",
            (job, directory, attempt, outcome, confirmed, code, action),
        )
    conn.execute("select alerts_check_directory_failures()")


def _seed_cancelled(conn: Conn, queries: Queries) -> tuple[uuid.UUID, int]:
    """A job with 10 directories submitted, then cancelled: the rest are cancelled."""
    job = create_job(conn, queries, email="cancelled@example.com")
    conn.execute(
        "update job_directories set status = 'submitted', submitted_at = now(), attempts = 1"
        " where job_id = %s and position <= 10",
        (job,),
    )
    queries.fetch_one(
        conn, "jobs_cancel", job_id=job, actor=f"staff:{STAFF_EMAIL}", reason="You asked us to."
    )
    row = conn.execute("select count(*) from job_directories where job_id = %s", (job,)).fetchone()
    assert row is not None
    return job, int(row[0])


def _seed_big(conn: Conn, queries: Queries) -> uuid.UUID:
    """A job of 500 directories: 300 submitted, 150 failed, 50 queued, one attempt each for
    the ones worked."""
    job = create_job(conn, queries, email="big@example.com")
    conn.execute(
        "insert into job_directories (job_id, directory_id, position)"
        " select %(job)s, d.id, (select max(position) from job_directories where job_id = %(job)s)"
        "        + row_number() over (order by d.id)"
        "   from directories d"
        "  where d.id like 'test-dir-%%'"
        "    and d.id not in (select directory_id from job_directories where job_id = %(job)s)",
        {"job": job},
    )
    conn.execute(
        "update job_directories set"
        " status = (case when position <= 300 then 'submitted' when position <= 450 then 'failed'"
        "           else 'queued' end)::job_directory_status,"
        " submitted_at = case when position <= 300 then now() end,"
        " attempts = case when position <= 450 then 1 else 0 end,"
        " last_error_code = case when position > 300 and position <= 450 then 'site_down' end"
        " where job_id = %s",
        (job,),
    )
    conn.execute(
        "insert into job_results (job_id, directory_id, attempt, outcome, confirmed, error_code)"
        " select job_id, directory_id, 1,"
        "        (case when status = 'submitted' then 'success' else 'permanent_error' end)"
        "        ::attempt_outcome, status = 'submitted',"
        "        case when status = 'failed' then 'site_down' end"
        "   from job_directories where job_id = %s and status in ('submitted', 'failed')",
        (job,),
    )
    # Long ago: these attempts stay out of the charts' windows (and their week before).
    conn.execute(
        "update job_results set reported_at = now() - interval '60 days' where job_id = %s",
        (job,),
    )
    row = conn.execute("select count(*) from job_directories where job_id = %s", (job,)).fetchone()
    assert row is not None
    assert row[0] == BIG
    return job


@pytest.fixture(scope="module")
def seeded(
    cluster: None, queries: Queries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    db_url = localdb.fresh(f"pytest_{os.getpid()}_staff_finish")
    with psycopg.connect(db_url, autocommit=True) as conn:
        dirs = enable_test_directories(conn, BIG)
        rates_job = create_job(conn, queries, email="rates@example.com")
        _seed_alerts(conn)
        _seed_rates(conn, rates_job, dirs)
        cancelled, cancelled_total = _seed_cancelled(conn, queries)
        big = _seed_big(conn, queries)
    artifacts = tmp_path_factory.mktemp("artifacts")
    with staff_stack(db_url, artifacts, http_server=True) as stack:
        yield Seeded(stack, stack.staff_token(), cancelled, cancelled_total, big)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(params=[DESKTOP, PHONE_WIDE], ids=["1280px", "390px"])
def page(request: pytest.FixtureRequest, browser: Browser, seeded: Seeded) -> Iterator[Page]:
    context = signed_in_context(browser, seeded.stack.portal_url, seeded.token, request.param)
    yield context.new_page()
    context.close()


def _open(page: Page, seeded: Seeded, path: str) -> None:
    """Open a staff page and check what every page must pass: axe, and on a phone no
    sideways scrolling."""
    response = page.goto(seeded.stack.portal_url + path)
    assert response is not None, path
    assert response.status == 200, path
    assert not axe_violations(page), (path, axe_violations(page))
    if page.viewport_size and page.viewport_size["width"] < 1000:
        assert_fits_width(page)


def test_overview_alerts_and_a_cancelled_job_say_what_happened(page: Page, seeded: Seeded) -> None:
    _open(page, seeded, "/staff")
    acknowledged = page.locator('[data-alert-kind="shortfall_refund_dead"]')
    expect(acknowledged.locator("[data-alert-badge]")).to_have_text("acknowledged")
    expect(acknowledged.locator("[data-alert-acknowledged]")).to_contain_text(
        f"Acknowledged by staff:{STAFF_EMAIL} at"
    )
    assert acknowledged.get_by_role("button", name=re.compile("Acknowledge")).count() == 0
    expect(
        page.locator('[data-alert-kind="late_report_conflict"] [data-alert-badge]')
    ).to_have_text("open")
    # The failure-rate alert for a directory with no earlier attempts.
    rate_alert = page.locator('[data-alert-kind="directory_failure_rate"]')
    expect(rate_alert).to_contain_text("no earlier data")
    assert not re.search(r"was 0\s?%", page.locator("main").inner_text())

    done = page.locator(f'tr[data-job-id="{seeded.cancelled_job}"] [data-job-done]')
    expect(done).to_have_text(f"10 done, {seeded.cancelled_total - 10} cancelled")

    _open(page, seeded, f"/staff/jobs/{seeded.cancelled_job}")
    expect(page.locator("#job-counts")).to_have_text(
        f"{seeded.cancelled_total - 10} cancelled, 10 submitted"
    )
    expect(page.locator('[data-state-chip="cancelled"] .chip-count')).to_have_text(
        str(seeded.cancelled_total - 10)
    )


def test_success_rates_leave_out_waiting_attempts_and_chart_labels_fit(
    page: Page, seeded: Seeded
) -> None:
    _open(page, seeded, "/staff/charts")
    mixed = page.locator('table.directory-rates tr[data-directory-id="test-dir-01"]')
    expect(mixed.locator("[data-rate]")).to_have_text("50%")
    expect(mixed.locator("[data-finished]")).to_have_text("2")
    expect(mixed.locator("[data-waiting]")).to_have_text("3")
    waiting_only = page.locator('table.directory-rates tr[data-directory-id="test-dir-02"]')
    expect(waiting_only.locator("[data-rate]")).to_have_text("none finished yet")
    expect(waiting_only.locator("[data-baseline]")).to_have_text("no earlier data")
    assert not re.search(r"was 0\s?%", page.locator("main").inner_text())

    # Every label of every chart lies wholly inside its chart's box, and the x-axis labels
    # do not run into each other, in every window (hourly, 6-hourly and daily buckets).
    for window in ("24h", "6h", "7d", "30d"):
        if window != "24h":
            _open(page, seeded, f"/staff/charts?window={window}")
        _assert_labels_inside(page)


def _assert_labels_inside(page: Page) -> None:
    boxes: list[dict[str, Any]] = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
             const box = svg.getBoundingClientRect();
             const text = Array.from(svg.querySelectorAll('text')).map(t => {
               const b = t.getBoundingClientRect();
               return {text: t.textContent, left: b.left, right: b.right, top: b.top,
                       bottom: b.bottom, x: t.classList.contains('x-label')};
             });
             return {id: svg.id, left: box.left, right: box.right, top: box.top,
                     bottom: box.bottom, text};
           })"""
    )
    assert len(boxes) == 5
    for chart in boxes:
        labels = [t for t in chart["text"] if t["x"]]
        assert len(labels) >= 2, chart["id"]
        for label in chart["text"]:
            inside = (
                label["left"] >= chart["left"] - 0.5
                and label["right"] <= chart["right"] + 0.5
                and label["top"] >= chart["top"] - 0.5
                and label["bottom"] <= chart["bottom"] + 0.5
            )
            assert inside, (chart["id"], label, chart)
        for before, after in pairwise(labels):
            assert before["right"] <= after["left"], (chart["id"], before, after)


def test_the_drill_down_of_500_directories_is_short_and_filters_by_state(
    page: Page, seeded: Seeded
) -> None:
    path = f"/staff/jobs/{seeded.big_job}"
    _open(page, seeded, path)
    # 10,900 px for 24 directories before; now one page of 20, whatever the job's size. A
    # phone stacks each row into a card of two to four lines, so it is allowed longer.
    limit = 2500 if page.viewport_size and page.viewport_size["width"] >= 1000 else 5500
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < limit, height
    chips = {
        chip.get_attribute("data-state-chip"): chip.locator(".chip-count").inner_text()
        for chip in page.locator("[data-state-chip]").all()
    }
    assert chips == {"": "500", "submitted": "300", "failed": "150", "queued": "50"}, chips
    expect(page.locator("table.directories tbody tr")).to_have_count(20)

    page.locator('[data-state-chip="failed"]').click()
    expect(page).to_have_url(re.compile(r"state=failed"))
    expect(page.locator('[data-state-chip="failed"]')).to_have_attribute("aria-current", "page")
    statuses = page.locator("table.directories [data-directory-status]").all_inner_texts()
    assert statuses == ["failed"] * 20
    expect(page.locator("#directories-page")).to_have_text("Page 1 of 8")
    first_page = page.locator("table.directories tbody tr").first.get_attribute("data-directory-id")

    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"state=failed"))
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#directories-shown")).to_contain_text("21\N{EN DASH}40 of 150 failed")
    shared = page.url
    second_page = page.locator("table.directories tbody tr").first.get_attribute(
        "data-directory-id"
    )
    assert second_page != first_page
    assert page.evaluate("document.documentElement.scrollHeight") < limit
    assert not axe_violations(page)

    # The URL is the view: opened afresh (a colleague's link), it shows the same page.
    page.goto(shared)
    expect(page.locator("#directories-page")).to_have_text("Page 2 of 8")
    expect(page.locator("table.directories tbody tr").first).to_have_attribute(
        "data-directory-id", second_page or ""
    )
    # A state that is not one is said, and the page shows every directory.
    response = page.goto(f"{seeded.stack.portal_url}{path}?state=bogus")
    assert response is not None
    assert response.status == 422
    expect(page.locator("#view-problem")).to_contain_text("state must be one of")
    expect(page.locator('[data-state-chip=""]')).to_have_attribute("aria-current", "page")
    page.goto(shared)
    # The attempts of this page only, folded away.
    expect(page.locator("table.attempts tbody tr")).to_have_count(20)
    assert page.locator("#attempts-details").get_attribute("open") is None
