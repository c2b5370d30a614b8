"""Directory health in the staff dashboard over HTTP (TestClient against the real app, the
Auth stand-in and a real orchestrator on this test's fresh database): who may see and act,
the health rows checked against what was seeded (canary runs through the named query,
attempts through jobs_report_attempt), and re-verify, disable and enable changing the
database, audited with the staff identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from tests.support.portal_harness import PORTAL_URL
from tests.support.queue_helpers import create_job, enable_test_directories, report
from tests.support.staff_stack import STAFF_EMAIL, StaffStack, claim, staff_stack

Conn = psycopg.Connection[Any]
BASELINE = "a" * 64
CHANGED = "b" * 64


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[StaffStack]:
    with staff_stack(db_url, tmp_path / "artifacts") as running:
        yield running


@pytest.fixture
def client(stack: StaffStack) -> Iterator[TestClient]:
    with TestClient(stack.app, base_url=PORTAL_URL, follow_redirects=False) as test_client:
        yield test_client


def canary(
    conn: Conn, queries: Queries, directory_id: str, digest: str | None, step: str | None = None
) -> dict[str, Any]:
    row = queries.fetch_one(
        conn,
        "directories_record_canary",
        directory_id=directory_id,
        signature=None if digest is None else Jsonb({"forms": [{"digest": digest[:4]}]}),
        digest=digest,
        failed_step=step,
        error=None if step is None else f"{step} did not work",
    )
    assert row is not None
    result: dict[str, Any] = row["result"]
    return result


def seeded(conn: Conn, queries: Queries) -> list[str]:
    """Three directories: 01 with two timed attempts (one a solved captcha), 02 drifted after
    a baseline, 03 never canaried; one running job holding 02 queued."""
    dirs = enable_test_directories(conn, 3)
    conn.execute("update tiers set directory_limit = 2 where name = 'starter'")
    create_job(conn, queries)
    job = claim(conn, queries)
    report(conn, queries, job, dirs[0], duration_ms=800, captcha_kind="image", captcha_solved=True)
    canary(conn, queries, dirs[0], BASELINE)
    canary(conn, queries, dirs[1], BASELINE)
    drift = canary(conn, queries, dirs[1], CHANGED)
    assert drift["newly_drifted"]
    assert drift["alert_raised"]
    assert drift["jobs_skipped"] == 1
    return dirs


def row_html(html: str, directory_id: str) -> str:
    match = re.search(rf'<tr id="dir-{directory_id}".*?</tr>', html, re.S)
    assert match, directory_id
    return match.group(0)


def test_customers_and_signed_out_visitors_cannot_see_or_act(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = seeded(conn, queries)
    assert client.get("/staff/directories").status_code == 303
    client.cookies.set("dbolt_access", stack.customer_token())
    assert client.get("/staff/directories", headers={"Accept": "text/html"}).status_code == 403
    for action in ("reverify", "enable", "disable"):
        response = client.post(f"/staff/directories/{dirs[1]}/{action}")
        assert response.status_code == 403, action
    state = conn.execute(
        "select enabled, drifted_at is not null from directories where id = %s", (dirs[1],)
    ).fetchone()
    assert state == (True, True), "a refused action changed nothing"
    audit = conn.execute("select count(*) from audit_log where actor like 'staff:%%'").fetchone()
    assert audit == (0,)


def test_health_rows_show_canary_rates_and_drift(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = seeded(conn, queries)
    client.cookies.set("dbolt_access", stack.staff_token())
    page = client.get("/staff/directories")
    assert page.status_code == 200
    html = page.text
    # The catalogue's own (disabled) entries are listed too, after the test directories.
    assert re.search(r"\d+ directories: 2 directories in use,", html), html
    assert "1 directory drifted" in html
    order = re.findall(r'<tr id="dir-([a-z0-9-]+)"', html)
    assert order[:3] == [dirs[1], dirs[0], dirs[2]], "the drifted directory comes first"

    drifted = row_html(html, dirs[1])
    assert 'data-state="drifted"' in drifted
    assert "signature changed" in drifted
    assert "1 drift in 2 canary runs" in drifted
    healthy = row_html(html, dirs[0])
    assert 'data-state="enabled"' in healthy
    assert re.search(r"data-success-7d>.*?<span data-rate>100%</span>", healthy, re.S)
    assert "800 ms" in healthy
    assert "100% of attempts, 100% solved" in healthy
    assert "0 drifts in 1 canary run" in healthy
    assert "less than a minute" in healthy, "the baseline was just taken"
    never = row_html(html, dirs[2])
    assert "never run" in never
    assert "no baseline" in never


def seen_on_the_page(client: TestClient, directory_id: str) -> dict[str, str]:
    """The re-verify form's fields as the page renders them: the latest canary run it shows."""
    row = row_html(client.get("/staff/directories").text, directory_id)
    seen = re.search(r'name="seen_canary_at" value="([^"]+)"', row)
    return {"seen_canary_at": seen.group(1)} if seen else {}


def test_reverify_brings_a_drifted_directory_back_and_is_audited(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = seeded(conn, queries)
    client.cookies.set("dbolt_access", stack.staff_token())
    response = client.post(
        f"/staff/directories/{dirs[1]}/reverify", data=seen_on_the_page(client, dirs[1])
    )
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/staff/directories?done=reverify&directory={dirs[1]}#dir-{dirs[1]}"
    )
    row = conn.execute(
        "select drifted_at, verified_at > now() - interval '1 minute', signature_digest"
        " from directories where id = %s",
        (dirs[1],),
    ).fetchone()
    assert row == (None, True, CHANGED), "drift cleared, verified now, latest canary adopted"
    audit = conn.execute(
        "select actor, from_status, to_status from audit_log where action = 'directory.reverified'"
    ).fetchall()
    assert audit == [(f"staff:{STAFF_EMAIL}", "drifted", "verified")]
    alert = conn.execute(
        "select cleared_at is not null from alerts where kind = 'recipe_drift'"
    ).fetchall()
    assert alert == [(True,)], "the only drifted directory re-verified: the alert is cleared"
    assert canary(conn, queries, dirs[1], CHANGED)["ok"], "the adopted signature now holds"
    # Back in new jobs.
    job_id = create_job(conn, queries)
    held = conn.execute(
        "select array_agg(directory_id order by position) from job_directories where job_id = %s",
        (job_id,),
    ).fetchone()
    assert held == ([dirs[0], dirs[1]],)

    page = client.get(response.headers["location"]).text
    assert f"{dirs[1]}: re-verified" in page
    assert 'data-state="enabled"' in row_html(page, dirs[1])


def test_disable_and_enable_switch_the_directory_audited(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    dirs = seeded(conn, queries)
    client.cookies.set("dbolt_access", stack.staff_token())
    assert client.post(f"/staff/directories/{dirs[0]}/disable").status_code == 303
    # Staff's switch is its own column: the catalogue's `enabled` stays, so a sync keeps it.
    assert conn.execute(
        "select enabled, staff_disabled_at is not null from directories where id = %s", (dirs[0],)
    ).fetchone() == (True, True)
    page = client.get("/staff/directories").text
    assert f'action="/staff/directories/{dirs[0]}/enable"' in row_html(page, dirs[0])
    assert client.post(f"/staff/directories/{dirs[0]}/enable").status_code == 303
    audit = conn.execute(
        "select actor, action from audit_log where directory_id = %s"
        " and action like 'directory.%%abled' order by id",
        (dirs[0],),
    ).fetchall()
    assert audit == [
        (f"staff:{STAFF_EMAIL}", "directory.disabled"),
        (f"staff:{STAFF_EMAIL}", "directory.enabled"),
    ]


def test_unknown_directories_and_actions_are_refused(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    seeded(conn, queries)
    client.cookies.set("dbolt_access", stack.staff_token())
    assert client.post("/staff/directories/no-such-dir/reverify").status_code == 404
    assert client.post("/staff/directories/Bad..Id/reverify").status_code == 422
    assert client.post("/staff/directories/test-dir-01/delete").status_code == 422
    # Another site's page posting here is refused by the Origin check.
    response = client.post(
        "/staff/directories/test-dir-01/disable", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert conn.execute(
        "select staff_disabled_at from directories where id = 'test-dir-01'"
    ).fetchone() == (None,)


def test_reverify_refuses_a_canary_run_that_came_in_after_the_page_was_loaded(
    stack: StaffStack, client: TestClient, conn: Conn, queries: Queries
) -> None:
    """Migration 20261211000200: the baseline staff adopt is the run they looked at."""
    dirs = seeded(conn, queries)
    client.cookies.set("dbolt_access", stack.staff_token())
    seen = seen_on_the_page(client, dirs[1])
    assert seen, "the page shows the drifted directory's last run"
    canary(conn, queries, dirs[1], "e" * 64)  # the CronJob's next round, unseen
    response = client.post(f"/staff/directories/{dirs[1]}/reverify", data=seen)
    assert response.status_code == 409
    assert "came in after the page was loaded" in response.text
    row = conn.execute(
        "select drifted_at is not null, signature_digest = %s from directories where id = %s",
        ("e" * 64, dirs[1]),
    ).fetchone()
    assert row == (True, False), "still drifted, the unseen run not adopted"
    assert (
        client.post(
            f"/staff/directories/{dirs[1]}/reverify", data=seen_on_the_page(client, dirs[1])
        ).status_code
        == 303
    ), "after a reload it goes through"
