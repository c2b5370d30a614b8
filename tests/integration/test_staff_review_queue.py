"""The staff review queue (issue 13, "no dead ends"): the orchestrator's staff endpoints that
settle a directory needing review or action (confirm live, mark submitted, mark failed, and
retry naming it), each a guarded SQL transition audited with the staff actor, refused as
401/403/404/409/422; and the dashboard's /staff/review page listing every such item across
jobs, oldest first, paged by keyset, with its artifacts, acting through the orchestrator
after a confirm step; the overview counts the items."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from fastapi.testclient import TestClient

from dbolt.sql import Queries
from portal.staff import orchestrator, review
from tests.support.orchestrator_harness import STAFF, WORKER
from tests.support.portal_harness import PORTAL_URL
from tests.support.queue_helpers import create_job, enable_test_directories, report
from tests.support.staff_stack import STAFF_EMAIL, StaffStack, claim, staff_stack

Conn = psycopg.Connection[Any]


def review_job(conn: Conn, queries: Queries, email: str = "") -> tuple[uuid.UUID, list[str]]:
    """A complete job: dirs[0] needs review, dirs[1] needs action, dirs[2] failed, dirs[3]
    submitted."""
    dirs = enable_test_directories(conn, 4)
    job_id = create_job(conn, queries, email=email)
    job = claim(conn, queries, f"w-{uuid.uuid4().hex[:6]}")
    assert job["id"] == job_id
    report(
        conn,
        queries,
        job,
        dirs[0],
        confirmed=False,
        message="No confirmation shown",
        artifacts={"screenshot": "shots/a.png"},
    )
    report(
        conn,
        queries,
        job,
        dirs[1],
        outcome="needs_action",
        action_required="Click the link the directory emailed you",
    )
    report(conn, queries, job, dirs[2], outcome="permanent_error", error_code="site_down")
    report(conn, queries, job, dirs[3])
    queries.fetch_one(conn, "jobs_complete", job_id=job_id, lease_token=job["lease_token"])
    return job_id, dirs


def status_of(conn: Conn, job_id: uuid.UUID, directory_id: str) -> str:
    row = conn.execute(
        "select status::text from job_directories where job_id = %s and directory_id = %s",
        (job_id, directory_id),
    ).fetchone()
    assert row is not None
    return str(row[0])


# -- the orchestrator's staff API -------------------------------------------------------------
def test_review_endpoints_need_the_staff_key(api: TestClient) -> None:
    base = "/jobs/00000000-0000-0000-0000-000000000001/directories/test-dir-01"
    for action, body in [
        ("confirm-live", {"listing_url": "https://a.example/l"}),
        ("mark-submitted", {}),
        ("mark-failed", {"reason": "gone"}),
    ]:
        assert api.post(f"{base}/{action}", json=body).status_code == 401, action
        assert api.post(f"{base}/{action}", json=body, headers=WORKER).status_code == 403, action


def test_each_review_action_is_a_guarded_audited_transition(
    api: TestClient, conn: Conn, queries: Queries
) -> None:
    job_id, dirs = review_job(conn, queries)
    base = f"/jobs/{job_id}/directories"

    # Bad input: 422 naming the field, nothing changed.
    bad_url = api.post(
        f"{base}/{dirs[0]}/confirm-live", json={"listing_url": "javascript:alert(1)"}, headers=STAFF
    )
    assert bad_url.status_code == 422
    assert "listing_url" in bad_url.text
    no_reason = api.post(f"{base}/{dirs[1]}/mark-failed", json={"reason": "  "}, headers=STAFF)
    assert no_reason.status_code == 422
    assert "reason" in no_reason.text
    unknown = api.post(f"{base}/{dirs[1]}/mark-failed", json={"why": "x"}, headers=STAFF)
    assert unknown.status_code == 422
    assert "why" in unknown.text
    # Wrong state: 409 naming the directory and job; unknown: 404.
    wrong = api.post(
        f"{base}/{dirs[2]}/confirm-live", json={"listing_url": "https://c.example/l"}, headers=STAFF
    )
    assert wrong.status_code == 409
    assert wrong.json()["error"] == "invalid_transition"
    assert f"directory {dirs[2]} of job {job_id} is failed" in wrong.json()["detail"]
    missing = api.post(f"{base}/test-dir-99/mark-submitted", json={}, headers=STAFF)
    assert missing.status_code == 404
    assert [status_of(conn, job_id, d) for d in dirs] == [
        "needs_review",
        "needs_action",
        "failed",
        "submitted",
    ]

    live = api.post(
        f"{base}/{dirs[0]}/confirm-live",
        json={"listing_url": "https://a.example/listing/7"},
        headers=STAFF,
    )
    assert live.status_code == 200, live.text
    assert live.json()["status"] == "live"
    failed = api.post(
        f"{base}/{dirs[1]}/mark-failed",
        json={"reason": "The site refused the phone (#phone)"},
        headers=STAFF,
    )
    assert failed.json()["status"] == "failed"
    # A failed item can then be retried by name (the job back to pending).
    retried = api.post(
        "/jobs/retry", json={"job_id": str(job_id), "directory_ids": [dirs[1]]}, headers=STAFF
    )
    assert retried.json()["retried"] == 1
    assert conn.execute("select status::text from jobs where id = %s", (job_id,)).fetchone() == (
        "pending",
    )

    audit = conn.execute(
        "select actor, action, directory_id, from_status, to_status from audit_log"
        " where job_id = %s and actor like 'staff:%%' order by id",
        (job_id,),
    ).fetchall()
    assert audit == [
        ("staff:alice@example.com", "directory.live", dirs[0], "needs_review", "live"),
        ("staff:alice@example.com", "directory.marked_failed", dirs[1], "needs_action", "failed"),
        ("staff:alice@example.com", "directory.retried", dirs[1], "failed", "queued"),
        ("staff:alice@example.com", "job.retried", None, "complete", "pending"),
    ]


def test_mark_submitted_and_retrying_a_review_item_by_name(
    api: TestClient, conn: Conn, queries: Queries
) -> None:
    job_id, dirs = review_job(conn, queries)
    base = f"/jobs/{job_id}/directories"
    submitted = api.post(
        f"{base}/{dirs[1]}/mark-submitted",
        json={"listing_url": "https://b.example/pending"},
        headers=STAFF,
    )
    assert submitted.json()["status"] == "submitted"
    assert conn.execute(
        "select listing_url from job_directories where job_id = %s and directory_id = %s",
        (job_id, dirs[1]),
    ).fetchone() == ("https://b.example/pending",)
    again = api.post(f"{base}/{dirs[1]}/mark-submitted", json={}, headers=STAFF)
    assert again.status_code == 409
    # A blind retry takes only the failed directory; the review item needs naming.
    blind = api.post("/jobs/retry", json={"job_id": str(job_id)}, headers=STAFF)
    assert blind.json()["retried"] == 1
    assert status_of(conn, job_id, dirs[0]) == "needs_review"
    named = api.post(
        "/jobs/retry", json={"job_id": str(job_id), "directory_ids": [dirs[0]]}, headers=STAFF
    )
    assert named.json()["retried"] == 1
    assert status_of(conn, job_id, dirs[0]) == "queued"


# -- the dashboard's review page ---------------------------------------------------------------
@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[StaffStack]:
    with staff_stack(db_url, tmp_path / "artifacts") as running:
        yield running


@pytest.fixture
def client(stack: StaffStack) -> Iterator[TestClient]:
    with TestClient(stack.app, base_url=PORTAL_URL, follow_redirects=False) as test_client:
        yield test_client


def test_the_queue_lists_every_item_across_jobs_oldest_first_with_artifacts(
    stack: StaffStack,
    client: TestClient,
    conn: Conn,
    queries: Queries,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    older, older_dirs = review_job(conn, queries, "older@example.com")
    newer, newer_dirs = review_job(conn, queries, "newer@example.com")
    # Oldest first: the older job's items waited longest (updated_at, which a trigger sets).
    (stack.artifacts_dir / "shots").mkdir(parents=True)
    (stack.artifacts_dir / "shots" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    client.cookies.set("dbolt_access", stack.staff_token())

    page = client.get("/staff/review")
    assert page.status_code == 200
    items = re.findall(r'data-review-item="([\w-]+)" data-job-id="([\w-]+)"', page.text)
    assert items == [
        (older_dirs[0], str(older)),
        (older_dirs[1], str(older)),
        (newer_dirs[0], str(newer)),
        (newer_dirs[1], str(newer)),
    ]
    assert "<strong>2</strong> need review, <strong>2</strong> wait on customers" in page.text
    assert "No confirmation shown" in page.text  # staff see the worker's message
    assert "Click the link the directory emailed you" in page.text
    assert "older@example.com" in page.text
    attempt_id = conn.execute(
        "select id from job_results where job_id = %s and directory_id = %s", (older, older_dirs[0])
    ).fetchone()
    assert attempt_id is not None
    link = f"/staff/jobs/{older}/attempts/{attempt_id[0]}/screenshot"
    assert link in page.text
    assert client.get(link).headers["content-type"] == "image/png"

    # Keyset pages of two: the second starts after the last item of the first.
    monkeypatch.setattr(review, "PAGE_SIZE", 2)
    first = client.get("/staff/review").text
    assert re.findall(r'data-review-item="([\w-]+)" data-job-id="([\w-]+)"', first) == items[:2]
    after = re.search(
        r'id="review-next" href="/staff/review\?after=([^"]+)"|'
        r'href="/staff/review\?after=([^"]+)" id="review-next"',
        first,
    )
    assert after is not None
    cursor = (after.group(1) or after.group(2)).replace("&amp;", "&")
    second = client.get(f"/staff/review?after={cursor}").text
    assert re.findall(r'data-review-item="([\w-]+)" data-job-id="([\w-]+)"', second) == items[2:]
    assert 'id="review-next"' not in second
    assert client.get("/staff/review?after=nonsense").status_code == 422

    # An item the customer says they did is back in the queue as needing review, with the
    # note and what they were asked.
    with conn.transaction():
        conn.execute(
            "select set_config('role', 'authenticated', true), set_config('request.jwt.claims',"
            " json_build_object('sub', c.user_id, 'role', 'authenticated')::text, true)"
            " from customers c where c.email = 'newer@example.com'"
        )
        conn.execute(
            "select customers_mark_action_done(job_id => %s, directory_id => %s)",
            (newer, newer_dirs[1]),
        )
        conn.execute("reset role")
    monkeypatch.setattr(review, "PAGE_SIZE", 50)
    done_item = re.search(
        rf'data-review-item="{newer_dirs[1]}" data-job-id="{newer}".*?</li>',
        client.get("/staff/review").text,
        re.S,
    )
    assert done_item is not None
    assert "needs review" in done_item.group(0)
    assert "customer says done" in done_item.group(0)
    assert "Click the link the directory emailed you" in done_item.group(0)
    conn.execute(
        "select jobs_mark_failed(%s, %s, 'checked: not there', 'staff:x')", (newer, newer_dirs[1])
    )

    overview = client.get("/staff").text
    assert '<dd data-count="needs_review">2</dd>' in overview
    assert '<dd data-count="needs_action">1</dd>' in overview
    fragment = client.get("/staff/fragments/review-count").text
    assert '<dd data-count="needs_review">2</dd>' in fragment


def test_an_action_confirms_first_then_lands_in_the_audit_trail_under_the_staff_user(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    job_id, dirs = review_job(conn, queries)
    client.cookies.set("dbolt_access", stack.staff_token())
    action = f"/staff/review/{job_id}/{dirs[0]}/confirm-live"

    # A bad URL is refused before anything is asked or sent, naming the field.
    bad = client.post(action, data={"listing_url": "ftp://x.example/y"})
    assert bad.status_code == 303
    assert bad.headers["location"] == "/staff/review?error=listing_url"
    assert "listing_url: the listing URL must be" in client.get(bad.headers["location"]).text
    assert status_of(conn, job_id, dirs[0]) == "needs_review"

    confirm = client.post(action, data={"listing_url": "https://a.example/listing/1"})
    assert confirm.status_code == 200
    assert "Yes, confirm live" in confirm.text
    assert 'name="confirmed" value="yes"' in confirm.text
    assert status_of(conn, job_id, dirs[0]) == "needs_review", "nothing happens before confirming"

    done = client.post(
        action, data={"listing_url": "https://a.example/listing/1", "confirmed": "yes"}
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/staff/review?done=confirm-live")
    assert status_of(conn, job_id, dirs[0]) == "live"
    assert conn.execute(
        "select actor, from_status, to_status from audit_log"
        " where job_id = %s and action = 'directory.live'",
        (job_id,),
    ).fetchall() == [(f"staff:{STAFF_EMAIL}", "needs_review", "live")]

    # Mark failed needs its reason; a refusal from the orchestrator is shown, not hidden.
    failed = f"/staff/review/{job_id}/{dirs[1]}/mark-failed"
    assert (
        client.post(failed, data={"confirmed": "yes"}).headers["location"].endswith("error=reason")
    )
    client.post(failed, data={"reason": "Site says no", "confirmed": "yes"})
    assert status_of(conn, job_id, dirs[1]) == "failed"
    twice = client.post(failed, data={"reason": "Site says no", "confirmed": "yes"})
    assert twice.headers["location"] == "/staff/review?error=invalid_transition"
    queue = client.get(twice.headers["location"]).text
    assert "no longer in a state this action applies to" in queue
    assert "Nothing to review" in queue


def test_the_notice_prints_fixed_words_for_a_code_never_the_urls_text(
    stack: StaffStack, client: TestClient
) -> None:
    client.cookies.set("dbolt_access", stack.staff_token())
    lure = "Urgent: call 555-0100 and read out your password"

    def notice(query: str) -> str:
        page = client.get(f"/staff/review?{query}")
        assert page.status_code == 200
        found = re.search(r'id="review-notice">(.*?)</div>', page.text, re.S)
        assert found is not None
        assert "password" not in page.text
        assert "555-0100" not in page.text
        return html.unescape(found.group(1))

    assert notice(urlencode({"error": lure})) == orchestrator.GENERIC_ERROR
    assert notice("error=invalid_transition") == orchestrator.ERRORS["invalid_transition"]
    assert notice("error=") == orchestrator.GENERIC_ERROR
    assert notice(urlencode({"done": "retry", "directory": lure})) == "queued again."
    assert notice("done=retry&directory=dir-a") == "dir-a: queued again."


def test_customers_are_refused_the_review_queue_and_its_actions(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    job_id, dirs = review_job(conn, queries)
    client.cookies.set("dbolt_access", stack.customer_token())
    assert client.get("/staff/review").status_code == 403
    assert client.get("/staff/fragments/review-count").status_code == 403
    posted = client.post(
        f"/staff/review/{job_id}/{dirs[1]}/mark-submitted", data={"confirmed": "yes"}
    )
    assert posted.status_code == 403
    assert status_of(conn, job_id, dirs[1]) == "needs_action"
