"""The staff API: interventions audited with the acting staff member, refusals as 404/409,
and the job list and drill-down."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from dbolt.sql import Queries
from tests.support.orchestrator_harness import STAFF, WORKER
from tests.support.queue_helpers import create_job, enable_test_directories

REASON = {"reason": "Asked by the customer."}


def test_staff_endpoints_need_the_staff_key(api: TestClient) -> None:
    job = "00000000-0000-0000-0000-000000000001"
    for method, path in [("GET", "/jobs"), ("GET", f"/jobs/{job}"), ("POST", f"/jobs/{job}/pause")]:
        assert api.request(method, path).status_code == 401, path
        assert api.request(method, path, headers=WORKER).status_code == 403, path
    assert api.post("/jobs/retry", json={"job_id": job}, headers=WORKER).status_code == 403


def test_pause_resume_cancel_are_audited_with_the_actor(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    claimed = api.post("/jobs-next", json={"worker_id": "w1"}, headers=WORKER).json()

    assert api.post(f"/jobs/{job_id}/pause", headers=STAFF).status_code == 422
    unexplained = api.post(f"/jobs/{job_id}/pause", json={}, headers=STAFF)
    assert unexplained.status_code == 422
    assert "reason" in unexplained.text
    blank = api.post(f"/jobs/{job_id}/pause", json={"reason": "   "}, headers=STAFF)
    assert blank.status_code == 422
    paused = api.post(f"/jobs/{job_id}/pause", json={"reason": "Checking with you."}, headers=STAFF)
    assert paused.json()["status"] == "paused"
    assert conn.execute("select staff_reason from jobs where id = %s", (job_id,)).fetchone() == (
        "Checking with you.",
    )
    # The worker's lease went with the pause: its next call is refused.
    stale = api.post(
        f"/jobs/{job_id}/heartbeat", json={"lease_token": claimed["lease_token"]}, headers=WORKER
    )
    assert stale.status_code == 409
    assert api.post(f"/jobs/{job_id}/pause", json=REASON, headers=STAFF).status_code == 409
    assert api.post(f"/jobs/{job_id}/resume", headers=STAFF).json()["status"] == "pending"
    cancelled = api.post(f"/jobs/{job_id}/cancel", json=REASON, headers=STAFF)
    assert cancelled.json()["status"] == "cancelled"
    refused = api.post(f"/jobs/{job_id}/resume", headers=STAFF)
    assert refused.status_code == 409
    assert refused.json()["error"] == "invalid_transition"

    audit = conn.execute(
        "select actor, action from audit_log"
        " where job_id = %s and action like 'job.%%' order by id",
        (job_id,),
    ).fetchall()
    assert audit[-3:] == [
        ("staff:alice@example.com", "job.paused"),
        ("staff:alice@example.com", "job.resumed"),
        ("staff:alice@example.com", "job.cancelled"),
    ]


def test_retry_requeues_failed_directories(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    job = api.post("/jobs-next", json={"worker_id": "w1"}, headers=WORKER).json()
    for directory_id in directories:
        api.post(
            f"/jobs/{job_id}/attempts",
            json={
                "lease_token": job["lease_token"],
                "directory_id": directory_id,
                "attempt": 1,
                "outcome": "permanent_error",
                "error_code": "site_down",
            },
            headers=WORKER,
        )
    api.post(f"/jobs/{job_id}/complete", json={"lease_token": job["lease_token"]}, headers=WORKER)

    named = api.post(
        "/jobs/retry",
        json={"job_id": str(job_id), "directory_ids": [directories[0]]},
        headers=STAFF,
    )
    assert named.json() == {"job_id": str(job_id), "retried": 1}
    rest = api.post("/jobs/retry", json={"job_id": str(job_id)}, headers=STAFF)
    assert rest.json()["retried"] == 1
    nothing = api.post("/jobs/retry", json={"job_id": str(job_id)}, headers=STAFF)
    assert nothing.status_code == 409
    assert "no failed directories" in nothing.json()["detail"]
    missing = api.post(
        "/jobs/retry", json={"job_id": "00000000-0000-0000-0000-000000000009"}, headers=STAFF
    )
    assert missing.status_code == 404
    assert (
        api.post(
            "/jobs/retry", json={"job_id": str(job_id), "directory_ids": []}, headers=STAFF
        ).status_code
        == 422
    )
    assert conn.execute("select status from jobs").fetchone() == ("pending",)
    actors = conn.execute(
        "select distinct actor from audit_log where action = 'directory.retried'"
    ).fetchall()
    assert actors == [("staff:alice@example.com",)]


def test_job_list_filters_and_paginates(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    for n in range(5):
        create_job(conn, queries, tier="starter", email=f"shop{n}@example.com")
    create_job(conn, queries, tier="growth", email="big@example.com")
    api.post("/jobs-next", json={"worker_id": "w1"}, headers=WORKER)

    page = api.get("/jobs", params={"limit": 2, "offset": 0}, headers=STAFF).json()
    assert page["total"] == 6
    assert len(page["items"]) == 2
    second = api.get("/jobs", params={"limit": 2, "offset": 2}, headers=STAFF).json()
    assert {i["id"] for i in page["items"]}.isdisjoint({i["id"] for i in second["items"]})
    growth = api.get("/jobs", params={"tier": "growth"}, headers=STAFF).json()
    assert [i["customer_email"] for i in growth["items"]] == ["big@example.com"]
    running = api.get("/jobs", params={"status": "in_progress"}, headers=STAFF).json()
    assert running["total"] == 1
    assert running["items"][0]["worker_id"] == "w1"
    search = api.get("/jobs", params={"customer": "shop3"}, headers=STAFF).json()
    assert [i["customer_email"] for i in search["items"]] == ["shop3@example.com"]
    assert api.get("/jobs", params={"status": "bogus"}, headers=STAFF).status_code == 422
    assert api.get("/jobs", params={"limit": 0}, headers=STAFF).status_code == 422


def test_job_detail_has_directories_attempts_and_audit(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    job = api.post("/jobs-next", json={"worker_id": "w1"}, headers=WORKER).json()
    api.post(
        f"/jobs/{job_id}/attempts",
        json={
            "lease_token": job["lease_token"],
            "directory_id": directories[0],
            "attempt": 1,
            "outcome": "transient_error",
            "error_code": "captcha_unsolved",
            "message": "gave up",
            "captcha_kind": "image",
            "captcha_solved": False,
            "proxy": "proxy-2",
            "artifacts": {"screenshot": "artifacts/j/1.png"},
        },
        headers=WORKER,
    )
    detail = api.get(f"/jobs/{job_id}", headers=STAFF).json()
    assert detail["job"]["status"] == "in_progress"
    assert detail["directories"][0]["status"] == "queued"
    attempt = detail["attempts"][0]
    assert (attempt["error_code"], attempt["proxy"], attempt["captcha_solved"]) == (
        "captcha_unsolved",
        "proxy-2",
        False,
    )
    assert attempt["artifacts"] == {"screenshot": "artifacts/j/1.png"}
    assert [a["action"] for a in detail["audit"]] == [
        "job.enqueued",
        "job.claimed",
        "directory.attempt_reported",
    ]
    assert api.get("/jobs/00000000-0000-0000-0000-000000000009", headers=STAFF).status_code == 404
