"""The staff jobs list pages by a keyset cursor (created_at, id), newest first, on the
dashboard and in the orchestrator's staff API: walking the Older links (then the Newer links
back) visits every matching job exactly once, in order, also when many jobs share one
created_at; the filters travel with the links; a garbled or forged cursor is refused with the
field named (422), never a 500."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from dbolt.sql import Queries
from tests.support.orchestrator_harness import STAFF
from tests.support.portal_harness import PORTAL_URL
from tests.support.queue_helpers import create_job, enable_test_directories
from tests.support.staff_stack import StaffStack, staff_stack

Conn = psycopg.Connection[Any]
ROW = re.compile(r'data-job-id="([0-9a-f-]{36})"')
# Six jobs to a created_at: every page boundary (25 a page) falls inside a group of ties.
TIES = 6


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[StaffStack]:
    with staff_stack(db_url, tmp_path / "artifacts") as running:
        yield running


def seed_jobs(conn: Conn, queries: Queries, starter: int, growth: int) -> None:
    """`starter` + `growth` pending jobs, interleaved, TIES of them to each created_at."""
    enable_test_directories(conn, 1)
    for n in range(max(starter, growth)):
        if n < starter:
            create_job(conn, queries, email=f"shop{n:02d}@example.com")
        if n < growth:
            create_job(conn, queries, tier="growth", email=f"big{n:02d}@example.net")
    conn.execute(
        """update jobs j set created_at = '2026-03-01 12:00+00'::timestamptz
                                          + (o.n / %s) * interval '1 minute'
             from (select id, row_number() over (order by random()) as n from jobs) o
            where o.id = j.id""",
        (TIES,),
    )


def newest_first(conn: Conn, where: str = "true") -> list[str]:
    rows = conn.execute(
        f"select j.id from jobs j join customers c on c.id = j.customer_id where {where}"
        " order by j.created_at desc, j.id desc"
    ).fetchall()
    return [str(r[0]) for r in rows]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'href="(/staff/jobs\?[^"]+)" rel="{rel}"', page)
    return unescape(found.group(1)) if found else None


def walk(client: TestClient, start: str, rel: str) -> tuple[list[list[str]], list[str]]:
    """The pages met following `rel` links from `start`, and the URLs followed."""
    pages: list[list[str]] = []
    urls: list[str] = []
    url: str | None = start
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(ROW.findall(response.text))
        urls.append(url)
        url = link(response.text, rel)
        assert len(pages) < 20, "the links go round in a circle"
    return pages, urls


def test_older_then_newer_links_visit_every_matching_job_once_in_order(
    stack: StaffStack, conn: Conn, queries: Queries
) -> None:
    seed_jobs(conn, queries, starter=56, growth=14)
    with TestClient(stack.app, base_url=PORTAL_URL, follow_redirects=False) as client:
        client.cookies.set("dbolt_access", stack.staff_token())

        # Filtered: the starter shops only. The filters ride along on every link.
        expected = newest_first(conn, "j.tier = 'starter' and c.email like 'shop%%'")
        pages, urls = walk(client, "/staff/jobs?tier=starter&customer=shop", "next")
        assert [len(p) for p in pages] == [25, 25, 6]
        assert [job for p in pages for job in p] == expected, "each job once, newest first"
        assert all("tier=starter" in u and "customer=shop" in u for u in urls)
        # Back up from the last page: the same pages, newest page last.
        back, back_urls = walk(client, urls[-1], "prev")
        assert back == pages[::-1]
        assert all("tier=starter" in u and "customer=shop" in u for u in back_urls)

        # Unfiltered: every job, and the count the jobs counters give (no filter but status).
        everything, _ = walk(client, "/staff/jobs", "next")
        assert [job for p in everything for job in p] == newest_first(conn)
        first = client.get("/staff/jobs?status=pending").text
        assert "70 jobs pending" in first
        assert "jobs pending" not in client.get("/staff/jobs?status=pending&tier=growth").text, (
            "no count where the counters cannot give it exactly"
        )


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


GARBLED = [
    "not-a-cursor",
    "%%%",
    cursor_of("2026-03-01T12:00:00+00:00"),  # no id
    cursor_of("yesterday|" + str(uuid.uuid4())),  # no timestamp
    cursor_of("2026-03-01T12:00:00|" + str(uuid.uuid4())),  # no time zone
    cursor_of("2026-03-01T12:00:00+00:00|'; drop table jobs; --"),
    "A" * 500,
]


def test_a_garbled_or_forged_cursor_is_named_and_the_list_starts_from_the_newest(
    stack: StaffStack, conn: Conn, queries: Queries
) -> None:
    seed_jobs(conn, queries, starter=3, growth=0)
    with TestClient(stack.app, base_url=PORTAL_URL, follow_redirects=False) as client:
        client.cookies.set("dbolt_access", stack.staff_token())
        for field in ("before", "after"):
            for value in GARBLED:
                response = client.get("/staff/jobs", params={field: value, "tier": "starter"})
                assert response.status_code == 422, (field, value)
                assert f"{field} is not a cursor from this list" in response.text
                assert len(ROW.findall(response.text)) == 3, "the other filters still apply"


def test_the_staff_api_pages_by_the_older_cursor_and_names_a_bad_one(
    api: TestClient, conn: Conn, queries: Queries
) -> None:
    seed_jobs(conn, queries, starter=17, growth=5)
    expected = newest_first(conn, "j.tier = 'starter'")
    seen: list[str] = []
    params: dict[str, Any] = {"tier": "starter", "limit": 4}
    while True:
        page = api.get("/jobs", params=params, headers=STAFF).json()
        seen += [item["id"] for item in page["items"]]
        assert page["total"] is None, "no exact count with a tier filter"
        if page["older"] is None:
            break
        params["before"] = page["older"]
    assert seen == expected
    assert api.get("/jobs", params={"status": "pending"}, headers=STAFF).json()["total"] == 22
    for value in GARBLED:
        refused = api.get("/jobs", params={"before": value}, headers=STAFF)
        assert refused.status_code == 422, value
        assert "before" in refused.text
