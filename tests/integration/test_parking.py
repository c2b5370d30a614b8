"""Parking through the orchestrator, against the real database: a directory that waits for
its email gives the job's lease and tier slot back, its browser session is kept sealed (never
in the clear in the database or the logs), and when its mail arrives the next claim hands it
out to resume where it stopped, session and mail included. The wake loop brings back a
moderation wait whose time has come."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from dbolt.contracts import STORAGE_STATE_MAX_BYTES
from dbolt.settings import LOCAL_MAILBOX_DOMAIN
from dbolt.sql import Queries
from tests.support.orchestrator_harness import WORKER, wait_for
from tests.support.queue_helpers import create_job, enable_test_directories

SECRET_COOKIE = "sid-7f3a-SECRET-COOKIE-VALUE"
STORAGE_STATE = {
    "cookies": [
        {
            "name": "sid",
            "value": SECRET_COOKIE,
            "domain": "127.0.0.1",
            "path": "/",
            "expires": -1,
            "httpOnly": True,
            "secure": False,
            "sameSite": "Lax",
        }
    ],
    "origins": [{"origin": "http://127.0.0.1:9", "localStorage": [{"name": "k", "value": "v"}]}],
}


def _claim(api: TestClient, worker_id: str = "worker-1") -> dict[str, Any]:
    response = api.post("/jobs-next", json={"worker_id": worker_id}, headers=WORKER)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _post(api: TestClient, job: dict[str, Any], path: str, **body: Any) -> Any:
    return api.post(
        f"/jobs/{job['job_id']}/{path}",
        json={"lease_token": job["lease_token"]} | body,
        headers=WORKER,
    )


def _report(api: TestClient, job: dict[str, Any], directory_id: str, **fields: Any) -> Any:
    return _post(api, job, "attempts", directory_id=directory_id, **fields)


def test_a_parked_directory_holds_no_lease_and_resumes_with_its_session_and_mail(
    api: TestClient,
    conn: psycopg.Connection[Any],
    queries: Queries,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    first, second = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    job = _claim(api)
    (local_part,) = conn.execute(
        "select local_part from customer_mailboxes m join jobs j on j.customer_id = m.customer_id"
        " where j.id = %s",
        (job_id,),
    ).fetchone() or (None,)
    assert job["mailbox"] == f"{local_part}@{LOCAL_MAILBOX_DOMAIN}"
    assert [d["resume"] for d in job["directories"]] == [None, None]

    assert _post(api, job, f"directories/{first}/start").json()["status"] == "in_progress"
    saved = _post(api, job, f"directories/{first}/session", storage_state=STORAGE_STATE)
    assert saved.status_code == 204, saved.text
    stored = conn.execute(
        "select key_id, ciphertext from private.directory_sessions where job_id = %s", (job_id,)
    ).fetchone()
    assert stored is not None
    assert stored[0] == "local-dev"
    assert SECRET_COOKIE.encode() not in bytes(stored[1])
    assert b"cookies" not in bytes(stored[1])

    parked = _report(
        api,
        job,
        first,
        attempt=1,
        outcome="parked",
        wait_kind="email",
        wait_seconds=48 * 3600,
        resume_phase="verify_email",
        message="signed up; waiting for the confirmation email",
    )
    assert parked.json() == {
        "directory_id": first,
        "status": "waiting",
        "attempts": 1,
        "max_attempts": 4,
    }
    listed = _report(
        api,
        job,
        second,
        attempt=1,
        outcome="already_listed",
        listing_url="https://dir.example/listing/already",
    )
    assert listed.json()["status"] == "already_listed"

    done = _post(api, job, "complete")
    assert done.json() == {"job_id": str(job_id), "status": "waiting"}
    row = conn.execute(
        "select status, lease_token, worker_id, wake_at is not null from jobs where id = %s",
        (job_id,),
    ).fetchone()
    assert row == ("waiting", None, None, True)
    assert conn.execute("select running from tiers where name = 'starter'").fetchone() == (0,)
    assert api.post("/jobs-next", json={"worker_id": "w2"}, headers=WORKER).status_code == 204

    # The directory's email arrives: the inbound-mail matcher stores it, names it on the
    # parked directory (as the service role) and wakes the job.
    (customer_id,) = conn.execute(
        "select customer_id from jobs where id = %s", (job_id,)
    ).fetchone() or (None,)
    (mail_id,) = conn.execute(
        "insert into inbound_emails (provider, provider_message_id, customer_id, recipient,"
        " sender, subject, body_text, body_html, job_id, directory_id, matched_at)"
        " values ('mailgun', '<abc@dir.example>', %s, %s, 'noreply@dir.example',"
        " 'Confirm your account', 'Your code is 424242', '<p>Your code is 424242</p>', %s, %s,"
        " now()) returning id",
        (customer_id, job["mailbox"], job_id, first),
    ).fetchone() or (None,)
    with conn.transaction():
        conn.execute("set local role service_role")
        conn.execute(
            "update job_directories set wake_mail_id = %s where job_id = %s and directory_id = %s",
            (mail_id, job_id, first),
        )
    woken = conn.execute(
        "select private.jobs_wake(%s, %s, 'mail arrived')", (job_id, f"mail:{mail_id}")
    ).fetchone()
    assert woken == (True,)

    again = _claim(api, "worker-2")
    assert [d["directory_id"] for d in again["directories"]] == [first]
    task = again["directories"][0]
    assert task["status"] == "waiting"
    resume = task["resume"]
    assert resume["phase"] == "verify_email"
    assert resume["storage_state"] == STORAGE_STATE
    assert resume["mail"]["id"] == mail_id
    assert resume["mail"]["subject"] == "Confirm your account"
    assert resume["mail"]["text"] == "Your code is 424242"
    assert resume["mail"]["html"] == "<p>Your code is 424242</p>"
    assert resume["mail"]["sender"] == "noreply@dir.example"

    assert _post(api, again, f"directories/{first}/start").json()["status"] == "in_progress"
    submitted = _report(
        api,
        again,
        first,
        attempt=2,
        outcome="success",
        confirmed=True,
        listing_url="https://dir.example/listing/1",
    )
    assert submitted.json()["status"] == "submitted"
    assert _post(api, again, "complete").json()["status"] == "complete"
    assert conn.execute(
        "select count(*) from private.directory_sessions where job_id = %s", (job_id,)
    ).fetchone() == (0,)

    # The session's content never reached a log record.
    for record in caplog.records:
        assert SECRET_COOKIE not in str(record.__dict__)


def test_the_wake_loop_brings_back_a_moderation_wait(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    (directory,) = enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    job = _claim(api)
    _report(
        api,
        job,
        directory,
        attempt=1,
        outcome="parked",
        wait_kind="moderation",
        wait_seconds=3600,
        resume_phase="confirm",
    )
    assert _post(api, job, "complete").json()["status"] == "waiting"
    # Time passes (the moderation delay is over).
    conn.execute(
        "update job_directories set wait_until = now() - interval '1 second' where job_id = %s",
        (job_id,),
    )
    conn.execute("update jobs set wake_at = now() - interval '1 second' where id = %s", (job_id,))

    def status() -> str | None:
        row = conn.execute("select status from jobs where id = %s", (job_id,)).fetchone()
        return row[0] if row and row[0] == "pending" else None

    assert wait_for(status, timeout=10) == "pending"
    again = _claim(api, "worker-2")
    assert again["directories"][0]["resume"] == {
        "phase": "confirm",
        "storage_state": None,
        "mail": None,
    }


def test_a_retried_directory_past_its_submit_is_handed_out_to_resume_at_confirm(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    """Submitted, parked for moderation, then a timeout at the confirm page: held for review
    (its resumed attempt was fenced). Staff retry it: the next claim hands the queued
    directory a resume at confirm, never a fresh start that would submit again."""
    (directory,) = enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    job = _claim(api)
    assert _post(api, job, f"directories/{directory}/start").status_code == 200
    assert _post(api, job, f"directories/{directory}/submitting", attempt=1).status_code == 200
    _report(
        api,
        job,
        directory,
        attempt=1,
        outcome="parked",
        wait_kind="moderation",
        wait_seconds=0,
        resume_phase="confirm",
    )
    assert _post(api, job, f"directories/{directory}/start").status_code == 200
    held = _report(api, job, directory, attempt=2, outcome="transient_error", error_code="timeout")
    assert held.json()["status"] == "needs_review"
    assert _post(api, job, "complete").status_code == 200
    conn.execute("select jobs_retry(%s, %s, 'staff:ops@example.com')", (job_id, [directory]))
    again = _claim(api, "worker-2")
    assert again["directories"][0]["status"] == "queued"
    assert again["directories"][0]["resume"] == {
        "phase": "confirm",
        "storage_state": None,
        "mail": None,
    }


def test_the_session_route_takes_a_large_session_and_the_others_keep_their_limit(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    (directory,) = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claim(api)
    _post(api, job, f"directories/{directory}/start")
    big = {
        "cookies": [],
        "origins": [{"origin": "http://x", "localStorage": []}],
        "pad": "x" * 100_000,
    }
    assert _post(api, job, f"directories/{directory}/session", storage_state=big).status_code == 204
    # The same size on any other route is over its limit.
    padded = _report(api, job, directory, attempt=1, outcome="skipped", message="x" * 100_000)
    assert padded.status_code == 413
    too_big = {"pad": "x" * STORAGE_STATE_MAX_BYTES}
    response = _post(api, job, f"directories/{directory}/session", storage_state=too_big)
    assert response.status_code == 413
    stale = api.post(
        f"/jobs/{job['job_id']}/directories/{directory}/session",
        json={"lease_token": "00000000-0000-4000-8000-000000000000", "storage_state": {}},
        headers=WORKER,
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "lease_lost"
