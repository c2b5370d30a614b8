"""The staff dashboard over HTTP (TestClient against the real app, the real Auth/Realtime
stand-in and a real orchestrator on a loopback port, all on this test's fresh database):
who may see it, the queue status, the jobs list, the drill-down, interventions audited with
the staff identity, chart numbers checked against the database, artifacts served without
path traversal, alerts, and `dbolt staff` through the Auth admin API.

The harness (`StaffStack`) lives in tests/support/staff_stack.py, shared with the browser tests.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from dbolt.auth_admin import set_staff_role
from dbolt.sql import Queries
from devstack import jwt_keys
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from orchestrator.loops import check_directory_failures
from orchestrator.state import AppState
from tests.support.orchestrator_harness import STAFF_KEY, settings_for
from tests.support.portal_harness import PORTAL_URL, access_token, portal_app
from tests.support.ports import free_port
from tests.support.queue_helpers import create_job, enable_test_directories, report
from tests.support.staff_stack import (
    STAFF_EMAIL,
    StaffStack,
    claim,
    make_auth_user,
    seed_history,
    staff_stack,
)
from worker import retention

Conn = psycopg.Connection[Any]


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[StaffStack]:
    with staff_stack(db_url, tmp_path / "artifacts") as running:
        yield running


@pytest.fixture
def client(stack: StaffStack) -> Iterator[TestClient]:
    with TestClient(stack.app, base_url=PORTAL_URL, follow_redirects=False) as test_client:
        yield test_client


def as_user(client: TestClient, token: str) -> TestClient:
    client.cookies.set("dbolt_access", token)
    return client


# -- who may see it ---------------------------------------------------------------------------
STAFF_GETS = [
    "/staff",
    "/staff/jobs",
    "/staff/charts",
    "/staff/charts/data.json",
    "/staff/status.json",
    "/staff/fragments/status",
    "/staff/fragments/alerts",
    "/staff/fragments/jobs",
    "/staff/events",
]


def test_customers_are_refused_every_staff_page_and_action(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    as_user(client, stack.customer_token())
    paths = [*STAFF_GETS, f"/staff/jobs/{job_id}", f"/staff/jobs/{job_id}/fragment"]
    for path in paths:
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 403, path
        assert "for DirectoryBolt staff" in response.text
    for action in ("pause", "resume", "cancel", "retry"):
        response = client.post(f"/staff/jobs/{job_id}/{action}", data={"confirmed": "yes"})
        assert response.status_code == 403, action
    assert client.post("/staff/alerts/1/acknowledge").status_code == 403
    with psycopg.connect(stack.db_url) as check:
        audit = check.execute(
            "select count(*) from audit_log where actor like 'staff:%%'"
        ).fetchone()
        status = check.execute("select status from jobs where id = %s", (job_id,)).fetchone()
    assert audit == (0,), "a refused action wrote no audit row"
    assert status == ("pending",), "a refused action changed nothing"
    # A worker's service account is not staff either.
    worker = jwt_keys.mint_worker_token()
    assert as_user(client, worker).get("/staff").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/jobs?status=failed")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/staff/jobs%3Fstatus%3Dfailed"


# -- queue status and jobs --------------------------------------------------------------------
def test_overview_shows_queue_counts_workers_dispatch_and_alerts(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 2)
    create_job(conn, queries, email="first@example.com")
    create_job(conn, queries, email="second@example.com")
    claim(conn, queries, "worker-a")
    conn.execute("update workers set last_seen_at = now() - interval '10 minutes'")
    conn.execute(
        "select alerts_raise('proxy_pool_exhausted', 'Proxies are failing: 9 of 10 attempts')"
    )
    conn.execute("select tiers_throttle('starter', 1, 'orchestrator')")
    as_user(client, stack.staff_token())
    page = client.get("/staff")
    assert page.status_code == 200
    html = page.text
    assert 'data-count="pending">1<' in html
    assert 'data-count="in_progress">1<' in html
    assert "Proxies are failing: 9 of 10 attempts" in html
    assert "throttled" in html
    assert "starter to 1 running" in html
    status = client.get("/staff/status.json").json()
    assert status["jobs"]["pending"] == 1
    assert status["jobs"]["in_progress"] == 1
    assert status["stale_workers"] == 1
    assert status["dispatch"]["known"] is True
    assert status["dispatch"]["paused"] is False
    assert status["throttle_reasons"] == ["Proxies are failing: 9 of 10 attempts"]
    assert status["oldest_pending_seconds"] >= 0


def test_overview_lists_jobs_that_completed_short_and_their_refund(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    """The Shortfalls panel: every complete job short of its package, with the refund's
    state; a refund Stripe refused is counted and its error shown."""
    directories = enable_test_directories(conn, 2)
    owed = create_job(conn, queries, email="short@example.com")
    refused = create_job(conn, queries, email="refused@example.com")
    conn.execute(
        "update orders set amount_total = 14900,"
        " stripe_payment_intent_id = 'pi_' || left(id::text, 8)"
    )
    for job_id in (owed, refused):
        conn.execute(
            "update jobs set created_at = now() - interval '1 hour' where id = %s", (job_id,)
        )
        job = claim(conn, queries)
        assert job["id"] == job_id
        report(conn, queries, job, directories[0])
        report(
            conn, queries, job, directories[1], outcome="permanent_error", error_code="site_down"
        )
        queries.fetch_one(conn, "jobs_complete", job_id=job_id, lease_token=job["lease_token"])
    (row_id, token) = conn.execute(
        "select id, claim_token from shortfall_refunds_claim(10, 60) where job_id = %s", (refused,)
    ).fetchone() or (None, None)
    conn.execute(
        "select shortfall_refunds_mark_failed(%s, %s, 'stripe 400 charge_already_refunded', 0, 1)",
        (row_id, token),
    )
    as_user(client, stack.staff_token())
    html = client.get("/staff").text
    assert "<strong>2</strong> jobs completed short of their package" in html
    assert "1 refund failed" in html
    for job_id in (owed, refused):
        assert f'href="/staff/jobs/{job_id}"' in html
    assert "$146.02" in html  # 49 of 50 short: floor(14900 * 49 / 50)
    assert "refund owed" in html
    assert "stripe 400 charge_already_refunded" in html


def test_jobs_list_filters_search_and_pages(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    ids = [create_job(conn, queries, email=f"shop{n:02d}@example.com") for n in range(30)]
    growth = create_job(conn, queries, tier="growth", email="bigger@example.net")
    conn.execute("update jobs set created_at = '2026-01-15 12:00+00' where id = %s", (ids[0],))
    as_user(client, stack.staff_token())
    first = client.get("/staff/jobs")
    assert first.status_code == 200
    assert first.text.count("data-job-id=") == 25
    assert "31 jobs" in first.text  # from the jobs counters: no filter but the status
    older = re.search(r'href="(/staff/jobs\?before=[^"]+)" rel="next"', first.text)
    assert older is not None, "the first page links to the older jobs"
    second = client.get(unescape(older.group(1)))
    assert second.text.count("data-job-id=") == 6
    assert 'rel="next"' not in second.text, "no older page after the last"
    assert 'rel="prev"' in second.text, "the last page links back to the newer jobs"
    by_tier = client.get("/staff/jobs?tier=growth")
    assert by_tier.text.count("data-job-id=") == 1
    assert str(growth) in by_tier.text
    by_customer = client.get("/staff/jobs?customer=shop07")
    assert by_customer.text.count("data-job-id=") == 1
    by_search = client.get(f"/staff/jobs?q={str(ids[3])[:8]}")
    assert f'data-job-id="{ids[3]}"' in by_search.text
    by_date = client.get("/staff/jobs?from=2026-01-15&to=2026-01-15")
    assert by_date.text.count("data-job-id=") == 1
    assert str(ids[0]) in by_date.text
    by_status = client.get("/staff/jobs?status=paused")
    assert "No jobs match these filters" in by_status.text
    bad = client.get("/staff/jobs?status=sleeping&from=yesterday")
    assert bad.status_code == 422
    assert "status must be one of" in bad.text
    assert "from must be a date" in bad.text


def test_drill_down_shows_directories_attempts_and_audit_trail(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = enable_test_directories(conn, 3)
    job_id = create_job(conn, queries)
    job = claim(conn, queries)
    report(conn, queries, job, dirs[0], outcome="success", listing_url="http://127.0.0.1:9/l/1")
    report(
        conn,
        queries,
        job,
        dirs[1],
        outcome="transient_error",
        error_code="captcha_unsolved",
        message="the captcha was not solved in time",
        captcha_kind="image",
        captcha_solved=False,
        proxy="http://proxy-2.local:3128",
        duration_ms=4321,
    )
    as_user(client, stack.staff_token())
    html = client.get(f"/staff/jobs/{job_id}").text
    for directory in dirs:
        assert f'data-directory-id="{directory}"' in html
    assert "captcha_unsolved" in html
    assert "the captcha was not solved in time" in html
    assert "image: not solved" in html
    assert "http://proxy-2.local:3128" in html
    assert "4.3 s" in html
    assert 'data-audit-action="job.claimed"' in html or "job.claimed" in html
    assert client.get(f"/staff/jobs/{uuid.uuid4()}").status_code == 404


def test_a_waiting_job_is_found_by_its_status_and_can_be_paused_or_cancelled(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    (directory,) = enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    job = claim(conn, queries)
    report(
        conn,
        queries,
        job,
        directory,
        outcome="parked",
        confirmed=False,
        wait_kind="email",
        wait_seconds=3600,
        resume_phase="verify_email",
    )
    queries.fetch_one(conn, "jobs_complete", job_id=job_id, lease_token=job["lease_token"])
    as_user(client, stack.staff_token())
    listed = client.get("/staff/jobs?status=waiting")
    assert listed.status_code == 200
    assert f'data-job-id="{job_id}"' in listed.text
    html = client.get(f"/staff/jobs/{job_id}").text
    assert f'action="/staff/jobs/{job_id}/pause"' in html
    assert f'action="/staff/jobs/{job_id}/cancel"' in html
    assert f'action="/staff/jobs/{job_id}/resume"' not in html


# -- interventions ----------------------------------------------------------------------------
def test_interventions_confirm_then_go_through_the_orchestrator_as_the_staff_user(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = enable_test_directories(conn, 3)
    job_id = create_job(conn, queries)
    as_user(client, stack.staff_token())

    # Without confirmation nothing happens: a page asks first.
    asked = client.post(f"/staff/jobs/{job_id}/pause")
    assert asked.status_code == 200
    assert "Pause job" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert conn.execute("select status from jobs where id = %s", (job_id,)).fetchone() == (
        "pending",
    )
    assert 'name="reason"' in asked.text
    # A pause without a reason the customer can read is asked again, nothing changed.
    unexplained = client.post(f"/staff/jobs/{job_id}/pause", data={"confirmed": "yes"})
    assert unexplained.status_code == 422
    assert "Say why" in unexplained.text
    assert conn.execute("select status from jobs where id = %s", (job_id,)).fetchone() == (
        "pending",
    )
    done = client.post(
        f"/staff/jobs/{job_id}/pause",
        data={"confirmed": "yes", "reason": "We are checking your address with you."},
    )
    assert done.status_code == 303
    assert conn.execute("select staff_reason from jobs where id = %s", (job_id,)).fetchone() == (
        "We are checking your address with you.",
    )
    assert done.headers["location"].endswith("?done=pause")
    paused_page = client.get(done.headers["location"]).text
    assert "Job paused" in paused_page
    assert "We are checking your address with you." in paused_page
    resumed = client.post(f"/staff/jobs/{job_id}/resume", data={"confirmed": "yes"})
    assert resumed.status_code == 303
    # Refused by the orchestrator (already pending): said plainly, nothing changed.
    refused = client.post(f"/staff/jobs/{job_id}/resume", data={"confirmed": "yes"})
    assert refused.headers["location"].endswith("?error=invalid_transition")
    refused_page = client.get(refused.headers["location"]).text
    assert "pending" in refused_page
    assert 'class="notice error"' in refused_page
    assert "no longer in a state this action applies" in refused_page
    # The notice is fixed words for a code: a crafted link cannot put a sentence on the page.
    lure = "Call 555-0100 now and read out the staff API key"
    crafted = client.get(
        f"/staff/jobs/{job_id}", params={"error": lure, "done": "retry", "retried": lure}
    ).text
    assert "555-0100" not in crafted
    assert "The orchestrator refused this; nothing was changed." in crafted
    crafted = client.get(f"/staff/jobs/{job_id}", params={"done": "retry", "retried": lure}).text
    assert "555-0100" not in crafted
    assert "Retry queued for the failed directories." in crafted

    # Retry the chosen failed directories.
    job = claim(conn, queries)
    for directory in dirs[:2]:
        report(conn, queries, job, directory, outcome="permanent_error", error_code="form_gone")
    page = client.get(f"/staff/jobs/{job_id}").text
    assert f'name="directory_ids" value="{dirs[0]}"' in page
    # Staff looking at the failed directories stay on that view through confirm and redirect;
    # a bad view parameter is dropped, never carried into the redirect.
    filtered = client.get(f"/staff/jobs/{job_id}", params={"state": "failed"}).text
    assert f'action="/staff/jobs/{job_id}/retry?state=failed"' in filtered
    confirm = client.post(
        f"/staff/jobs/{job_id}/retry?state=failed", data={"directory_ids": [dirs[1]]}
    )
    assert confirm.status_code == 200
    assert dirs[1] in confirm.text
    assert f'action="/staff/jobs/{job_id}/retry?state=failed"' in confirm.text
    assert f'href="/staff/jobs/{job_id}?state=failed"' in confirm.text
    retried = client.post(
        f"/staff/jobs/{job_id}/retry?state=failed&page=x",
        data={"directory_ids": [dirs[1]], "confirmed": "yes"},
    )
    assert retried.headers["location"] == (
        f"/staff/jobs/{job_id}?state=failed&done=retry&retried=1"
    )
    states = dict(
        conn.execute(
            "select directory_id, status::text from job_directories where job_id = %s", (job_id,)
        ).fetchall()
    )
    assert states[dirs[0]] == "failed"
    assert states[dirs[1]] == "queued"
    cancelled = client.post(
        f"/staff/jobs/{job_id}/cancel", data={"confirmed": "yes", "reason": "Asked by you."}
    )
    assert cancelled.status_code == 303

    actions = conn.execute(
        "select action, actor from audit_log where job_id = %s and actor like 'staff:%%'"
        " order by id",
        (job_id,),
    ).fetchall()
    actor = f"staff:{STAFF_EMAIL}"
    assert ("job.paused", actor) in actions
    assert ("job.resumed", actor) in actions
    assert ("job.cancelled", actor) in actions
    assert any(action.startswith("directory.") and who == actor for action, who in actions)
    trail = client.get(f"/staff/jobs/{job_id}").text
    assert trail.count(actor) >= 4


def test_an_unreachable_orchestrator_changes_nothing_and_says_so(
    db_url: str, tmp_path: Path, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    with ServerThread(SupabaseSettings(database_url=db_url)) as supabase:
        app = portal_app(
            db_url,
            supabase.url,
            orchestrator_url=f"http://127.0.0.1:{free_port()}",
            staff_api_key=STAFF_KEY,
        )
        with TestClient(app, base_url=PORTAL_URL, follow_redirects=False) as client:
            user_id = make_auth_user(db_url, STAFF_EMAIL, "staff")
            as_user(client, access_token(user_id, STAFF_EMAIL, "staff"))
            response = client.post(
                f"/staff/jobs/{job_id}/cancel", data={"confirmed": "yes", "reason": "Test."}
            )
            page = client.get(response.headers["location"]).text
            assert "orchestrator cannot be reached" in page
            status = client.get("/staff/status.json").json()
            assert status["dispatch"] == {
                "known": False,
                "paused": None,
                "reason": "the orchestrator is unreachable",
            }
    assert conn.execute("select status from jobs where id = %s", (job_id,)).fetchone() == (
        "pending",
    )


# -- charts -----------------------------------------------------------------------------------
@pytest.mark.parametrize("window", ["6h", "24h", "7d"])
def test_chart_data_matches_the_database(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries, window: str
) -> None:
    seed_history(conn, queries)
    as_user(client, stack.staff_token())
    data = client.get(f"/staff/charts/data.json?window={window}").json()
    assert data["window"] == window
    size = timedelta(seconds=data["bucket_seconds"])
    results = conn.execute(
        "select reported_at, outcome::text, attempt, captcha_kind, captcha_solved, error_code"
        " from job_results"
    ).fetchall()
    completions = [
        row[0]
        for row in conn.execute("select completed_at from jobs where completed_at is not null")
    ]
    assert data["buckets"], data
    for bucket in data["buckets"]:
        start = datetime.fromisoformat(bucket["start"])
        inside = [r for r in results if start <= r[0] < start + size]
        assert bucket["attempts"] == len(inside), bucket
        for outcome in ("success", "needs_action", "transient_error", "permanent_error", "skipped"):
            assert bucket["attempts_by_outcome"][outcome] == sum(
                1 for r in inside if r[1] == outcome
            )
        assert bucket["retries"] == sum(1 for r in inside if r[2] > 1)
        assert bucket["captchas_solved"] == sum(1 for r in inside if r[4] is True)
        assert bucket["captchas_failed"] == sum(1 for r in inside if r[3] and r[4] is not True)
        assert bucket["proxy_failures"] == sum(1 for r in inside if r[5] == "proxy_error")
        assert bucket["jobs_completed"] == sum(1 for c in completions if start <= c < start + size)
        expected_rate = round(bucket["retries"] / bucket["attempts"], 4) if inside else None
        assert bucket["retry_rate"] == expected_rate
    first = datetime.fromisoformat(data["buckets"][0]["start"])
    recent = [r for r in results if r[0] >= first]
    assert data["totals"]["attempts"] == len(recent)
    # Windows really differ: 6 hours hold fewer attempts than the whole history.
    if window == "6h":
        assert 0 < len(recent) < len(results)
    if window == "7d":
        assert data["totals"]["attempts"] == len(results)
        assert data["totals"]["jobs_completed"] == 8

    # Success per directory, against the same window.
    since = datetime.now(first.tzinfo) - timedelta(seconds=data["window_seconds"])
    by_directory = {d["directory_id"]: d for d in data["directories"]}
    # A rate is of finished attempts only (succeeded or failed): an attempt waiting on the
    # customer (needs_action) or on a review (an unconfirmed success) is neither, and is
    # counted apart as waiting (seed_history's week holds needs_action attempts).
    rows = conn.execute(
        "select directory_id, count(*),"
        " count(*) filter (where (outcome = 'success' and confirmed)"
        "                  or outcome = 'already_listed'),"
        " count(*) filter (where outcome in ('transient_error', 'permanent_error')),"
        " count(*) filter (where outcome in ('needs_action', 'parked')"
        "                  or (outcome = 'success' and not confirmed))"
        " from job_results where reported_at >= now() - make_interval(secs => %s)"
        " group by directory_id",
        (data["window_seconds"],),
    ).fetchall()
    assert since
    assert set(by_directory) == {row[0] for row in rows}
    if window == "7d":
        assert any(row[4] for row in rows), "the history has attempts waiting on customers"
    for directory_id, attempts, successes, failures, waiting in rows:
        shown = by_directory[directory_id]
        assert (
            shown["attempts"],
            shown["finished"],
            shown["successes"],
            shown["failures"],
            shown["waiting"],
        ) == (attempts, successes + failures, successes, failures, waiting)
        finished = successes + failures
        assert shown["success_rate"] == (round(successes / finished, 4) if finished else None)
    rates = [d["success_rate"] for d in data["directories"] if d["success_rate"] is not None]
    assert rates == sorted(rates), "worst directory first"
    assert all(d["success_rate"] is not None for d in data["directories"][: len(rates)]), (
        "directories with no finished attempt come last"
    )

    page = client.get(f"/staff/charts?window={window}")
    assert page.status_code == 200
    assert page.text.count('<svg class="chart"') == 5
    assert f'id="total-attempts">{len(recent)}<' in page.text


def test_chart_window_must_be_one_offered(stack: StaffStack, client: TestClient) -> None:
    as_user(client, stack.staff_token())
    response = client.get(
        "/staff/charts/data.json?window=2y", headers={"Accept": "application/json"}
    )
    assert response.status_code == 422
    assert "window must be one of" in response.json()["detail"]


# -- artifacts --------------------------------------------------------------------------------
def test_artifacts_are_served_from_the_artifacts_dir_and_traversal_is_refused(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries, tmp_path: Path
) -> None:
    dirs = enable_test_directories(conn, 4)
    job_id = create_job(conn, queries)
    job = claim(conn, queries)
    folder = stack.artifacts_dir / str(job_id)
    folder.mkdir(parents=True)
    (folder / f"{dirs[0]}-1.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (folder / f"{dirs[0]}-1.html").write_text("<script>alert(1)</script><p>Form gone</p>")
    secret = tmp_path / "secret.html"
    secret.write_text("not for the portal")
    (folder / f"{dirs[3]}-1.html").symlink_to(secret)
    recorded = {
        # As the worker records it: relative to its own working directory.
        dirs[0]: {
            "screenshot": f".local/artifacts/{job_id}/{dirs[0]}-1.png",
            "html": f".local/artifacts/{job_id}/{dirs[0]}-1.html",
        },
        dirs[1]: {"html": f"../{secret.parent.name}/secret.html", "screenshot": "/etc/passwd"},
        dirs[2]: {"html": str(secret)},
        dirs[3]: {"html": f"artifacts/{job_id}/{dirs[3]}-1.html"},
    }
    for directory in dirs:
        report(
            conn,
            queries,
            job,
            directory,
            outcome="permanent_error",
            error_code="form_gone",
            artifacts=recorded[directory],
        )
    ids = dict(
        conn.execute(
            "select directory_id, id from job_results where job_id = %s", (job_id,)
        ).fetchall()
    )
    as_user(client, stack.staff_token())
    base = f"/staff/jobs/{job_id}/attempts"
    shot = client.get(f"{base}/{ids[dirs[0]]}/screenshot")
    assert shot.status_code == 200
    assert shot.headers["content-type"] == "image/png"
    page = client.get(f"{base}/{ids[dirs[0]]}/html")
    assert page.status_code == 200
    assert "Form gone" in page.text
    assert page.headers["content-security-policy"].startswith("sandbox")
    assert page.headers["x-content-type-options"] == "nosniff"
    for directory, kind in [
        (dirs[1], "html"),
        (dirs[1], "screenshot"),
        (dirs[2], "html"),
        (dirs[3], "html"),
    ]:
        refused = client.get(f"{base}/{ids[directory]}/{kind}")
        assert refused.status_code == 404, (directory, kind)
        assert "not for the portal" not in refused.text
    assert client.get(f"{base}/{ids[dirs[0]]}/..%2F..%2Fetc%2Fpasswd").status_code in (404, 422)
    # Another job's id with this attempt: not found.
    assert client.get(f"/staff/jobs/{uuid.uuid4()}/attempts/{ids[dirs[0]]}/html").status_code == 404
    html = client.get(f"/staff/jobs/{job_id}").text
    assert f"{base}/{ids[dirs[0]]}/screenshot" in html


def test_an_artifact_deleted_after_retention_shows_as_deleted_not_as_a_broken_link(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    job = claim(conn, queries)
    folder = stack.artifacts_dir / str(job_id)
    folder.mkdir(parents=True)
    shot, page = folder / f"{dirs[0]}-1.png", folder / f"{dirs[0]}-1.html"
    shot.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    page.write_text("<p>Form gone</p>")
    report(
        conn,
        queries,
        job,
        dirs[0],
        outcome="permanent_error",
        error_code="form_gone",
        artifacts={"screenshot": str(shot), "html": str(page)},
    )
    (attempt_id,) = conn.execute(
        "select id from job_results where job_id = %s", (job_id,)
    ).fetchone() or (None,)
    as_user(client, stack.staff_token())
    link = f"/staff/jobs/{job_id}/attempts/{attempt_id}/screenshot"
    assert link in client.get(f"/staff/jobs/{job_id}").text
    # The workers' sweep deletes the screenshot once it is past retention.
    old = time.time() - 31 * 86_400
    os.utime(shot, (old, old))
    assert retention.sweep(stack.artifacts_dir, 30) == 1
    html = client.get(f"/staff/jobs/{job_id}").text
    assert link not in html
    assert "Screenshot deleted after 30 days" in html
    assert f"/staff/jobs/{job_id}/attempts/{attempt_id}/html" in html  # still there


# -- alerts -----------------------------------------------------------------------------------
def test_alerts_are_listed_and_acknowledged_by_the_staff_user(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    conn.execute("select alerts_raise('captcha_provider_down', 'Captcha solving is failing')")
    conn.execute("select alerts_raise('database_outage', 'Database unreachable for 12 s')")
    conn.execute("select alerts_clear('database_outage')")
    as_user(client, stack.staff_token())
    html = client.get("/staff").text
    assert "Captcha solving is failing" in html
    assert "Database unreachable for 12 s" in html
    assert "recovered" in html
    alert_id = conn.execute("select id from alerts where kind = 'captcha_provider_down'").fetchone()
    assert alert_id is not None
    response = client.post(
        f"/staff/alerts/{alert_id[0]}/acknowledge", data={"next": "//evil.example"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    row = conn.execute(
        "select acknowledged_by from alerts where id = %s", (alert_id[0],)
    ).fetchone()
    assert row == (f"staff:{STAFF_EMAIL}",)
    assert f"Acknowledged by staff:{STAFF_EMAIL}" in client.get("/staff/fragments/alerts").text


def test_the_directory_failure_check_raises_the_alert_staff_see(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = enable_test_directories(conn, 1)
    for n in range(6):
        create_job(conn, queries, email=f"f{n}@example.com")
        job = claim(conn, queries, f"w{n}")
        report(conn, queries, job, dirs[0], outcome="permanent_error", error_code="form_gone")

    async def check() -> None:
        # The orchestrator's periodic check, run once against this test's database.
        state = AppState.build(settings_for(stack.db_url))
        await state.db.open()
        try:
            await check_directory_failures(state)
        finally:
            await state.db.close()

    asyncio.run(check())
    as_user(client, stack.staff_token())
    html = client.get("/staff/fragments/alerts").text
    assert "directory failure rate" in html
    assert dirs[0] in html


# -- dbolt staff ------------------------------------------------------------------------------
def test_set_staff_role_creates_promotes_and_revokes_through_the_auth_admin_api(
    stack: StaffStack,
) -> None:
    key = jwt_keys.mint_api_key("service_role")

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            created = await set_staff_role(http, stack.supabase.url, key, "New.Staff@Example.com")
            assert created.created
            assert created.app_role == "staff"
            again = await set_staff_role(http, stack.supabase.url, key, "new.staff@example.com")
            assert not again.created
            assert again.user_id == created.user_id
            revoked = await set_staff_role(
                http, stack.supabase.url, key, "new.staff@example.com", revoke=True
            )
            assert revoked.app_role is None
            with pytest.raises(ValueError, match="EMAIL"):
                await set_staff_role(http, stack.supabase.url, key, "not-an-email")

    asyncio.run(scenario())
    with psycopg.connect(stack.db_url) as conn:
        customer = conn.execute(
            "select dev.create_paid_order('promote.me@example.com', 'starter')"
        ).fetchone()
        conn.commit()
    assert customer is not None

    async def promote() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            account = await set_staff_role(http, stack.supabase.url, key, "promote.me@example.com")
            assert not account.created
            assert account.app_role == "staff"

    asyncio.run(promote())
    with psycopg.connect(stack.db_url) as conn:
        meta = conn.execute(
            "select raw_app_meta_data ->> 'role' from auth.users"
            " where email = 'promote.me@example.com'"
        ).fetchone()
    assert meta == ("staff",)


def test_dbolt_staff_cli_reports_a_clear_error_without_the_service_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dbolt.cli import main

    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "")
    assert main(["staff", "someone@example.com"]) == 1
    assert "SUPABASE_SERVICE_ROLE_KEY is required" in capsys.readouterr().out


# -- the live feed ----------------------------------------------------------------------------
def read_events(lines: Iterator[str], wanted: set[str], limit: int = 50) -> list[str]:
    """Event names from an SSE stream until every wanted one was seen."""
    seen: list[str] = []
    for line in lines:
        if line.startswith("event: "):
            seen.append(line.removeprefix("event: "))
            if wanted <= set(seen) or len(seen) >= limit:
                break
    return seen


def test_the_event_stream_relays_the_staff_topic(db_url: str, tmp_path: Path) -> None:
    with staff_stack(db_url, tmp_path, http_server=True) as running:
        token = running.staff_token()
        with (
            httpx.Client(base_url=running.portal_url, timeout=20) as http,
            http.stream("GET", "/staff/events", cookies={"dbolt_access": token}) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert "retry: 2000" in next(lines)
            events: list[str] = []
            for line in lines:
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                    break
            assert events == ["ready"]
            with psycopg.connect(db_url, autocommit=True) as conn:
                conn.execute("select alerts_raise('proxy_pool_exhausted', 'Proxies are failing')")
            assert "alert" in read_events(lines, {"alert"})


def test_without_realtime_the_stream_says_degraded_and_ticks(db_url: str, tmp_path: Path) -> None:
    # A wrong anon key: Realtime refuses the socket, so the page must fall back to polling.
    with staff_stack(db_url, tmp_path, http_server=True, supabase_anon_key="wrong") as running:
        token = running.staff_token()
        with (
            httpx.Client(base_url=running.portal_url, timeout=30) as http,
            http.stream("GET", "/staff/events", cookies={"dbolt_access": token}) as response,
        ):
            events = read_events(response.iter_lines(), {"degraded", "tick"})
    assert events[0] == "degraded"
    assert "tick" in events
