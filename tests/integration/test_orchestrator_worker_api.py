"""The worker API against the real database: claim, heartbeat, report, complete, release,
and every refusal (401, 403, 409, 413, 422)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from dbolt.sql import Queries
from tests.support.orchestrator_harness import WORKER
from tests.support.queue_helpers import create_job, enable_test_directories


def _claim(api: TestClient, worker_id: str = "worker-1") -> dict[str, Any]:
    response = api.post("/jobs-next", json={"worker_id": worker_id}, headers=WORKER)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _report(api: TestClient, job: dict[str, Any], directory_id: str, **fields: Any) -> Any:
    body = {
        "lease_token": job["lease_token"],
        "directory_id": directory_id,
        "attempt": 1,
        "outcome": "success",
        "confirmed": True,
    } | fields
    return api.post(f"/jobs/{job['job_id']}/attempts", json=body, headers=WORKER)


def test_worker_endpoints_need_the_worker_token(api: TestClient) -> None:
    assert api.post("/jobs-next", json={"worker_id": "w"}).status_code == 401
    wrong = api.post(
        "/jobs-next", json={"worker_id": "w"}, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 403
    staff_key = {"Authorization": "Bearer test-staff-key-0123456789"}
    assert api.post("/jobs-next", json={"worker_id": "w"}, headers=staff_key).status_code == 403


def test_empty_queue_answers_204(api: TestClient) -> None:
    response = api.post("/jobs-next", json={"worker_id": "w"}, headers=WORKER)
    assert response.status_code == 204
    assert response.content == b""


def test_a_job_is_claimed_worked_and_completed(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    job = _claim(api)
    assert job["job_id"] == str(job_id)
    assert job["business"]["phone"] == "+12175550123"
    assert [d["directory_id"] for d in job["directories"]] == directories

    heartbeat = api.post(
        f"/jobs/{job_id}/heartbeat", json={"lease_token": job["lease_token"]}, headers=WORKER
    )
    assert heartbeat.status_code == 200
    assert heartbeat.json()["lease_expires_at"] >= job["lease_expires_at"]

    started = api.post(
        f"/jobs/{job_id}/directories/{directories[0]}/start",
        json={"lease_token": job["lease_token"]},
        headers=WORKER,
    )
    assert started.json()["status"] == "in_progress"
    first = _report(
        api, job, directories[0], listing_url="https://dir.example/listing/1", duration_ms=900
    )
    assert first.json() == {
        "directory_id": directories[0],
        "status": "submitted",
        "attempts": 1,
        "max_attempts": 3,
    }
    second = _report(
        api, job, directories[1], outcome="transient_error", confirmed=False, error_code="timeout"
    )
    assert second.json()["status"] == "queued"

    early = api.post(
        f"/jobs/{job_id}/complete", json={"lease_token": job["lease_token"]}, headers=WORKER
    )
    assert early.status_code == 409
    assert "still has 1 directories to do" in early.json()["detail"]

    assert _report(api, job, directories[1], attempt=2).json()["status"] == "submitted"
    done = api.post(
        f"/jobs/{job_id}/complete", json={"lease_token": job["lease_token"]}, headers=WORKER
    )
    assert done.json() == {"job_id": str(job_id), "status": "complete"}
    stored = conn.execute(
        "select listing_url from job_directories where directory_id = %s", (directories[0],)
    )
    assert stored.fetchone() == ("https://dir.example/listing/1",)


def test_a_reclaimed_job_never_offers_a_submitted_directory(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 3)
    create_job(conn, queries)
    job = _claim(api)
    _report(api, job, directories[0])
    released = api.post(
        f"/jobs/{job['job_id']}/release", json={"lease_token": job["lease_token"]}, headers=WORKER
    )
    assert released.json()["status"] == "pending"
    again = _claim(api, "worker-2")
    assert [d["directory_id"] for d in again["directories"]] == directories[1:]


def test_a_stale_lease_gets_409_and_changes_nothing(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claim(api)
    api.post(
        f"/jobs/{job['job_id']}/release", json={"lease_token": job["lease_token"]}, headers=WORKER
    )
    for path, body in [
        ("heartbeat", {"lease_token": job["lease_token"]}),
        ("complete", {"lease_token": job["lease_token"]}),
        ("release", {"lease_token": job["lease_token"]}),
    ]:
        response = api.post(f"/jobs/{job['job_id']}/{path}", json=body, headers=WORKER)
        assert response.status_code == 409, path
        assert response.json()["error"] == "lease_lost"
        assert "not held" in response.json()["detail"]
    # A report is a fact: under a lease the job held it is recorded late (see
    # test_orchestrator_submit_fence.py); a token the job never held is refused.
    forged_lease = {"lease_token": "00000000-0000-4000-8000-000000000000"}
    forged = _report(api, job | forged_lease, directories[0])
    assert forged.status_code == 409
    assert forged.json()["error"] == "lease_lost"
    assert conn.execute("select count(*) from job_results").fetchone() == (0,)


def test_bad_bodies_get_422_naming_the_field(api: TestClient) -> None:
    job_id = "00000000-0000-0000-0000-000000000001"
    cases = [
        (
            {"lease_token": "not-a-uuid", "directory_id": "d1", "attempt": 1, "outcome": "success"},
            "lease_token",
        ),
        (
            {"lease_token": job_id, "directory_id": "d1", "attempt": 0, "outcome": "success"},
            "attempt",
        ),
        (
            {"lease_token": job_id, "directory_id": "d1", "attempt": 1, "outcome": "great"},
            "outcome",
        ),
        (
            {"lease_token": job_id, "directory_id": "D 1", "attempt": 1, "outcome": "success"},
            "directory_id",
        ),
        (
            {
                "lease_token": job_id,
                "directory_id": "d1",
                "attempt": 1,
                "outcome": "success",
                "colour": 1,
            },
            "colour",
        ),
    ]
    for body, field in cases:
        response = api.post(f"/jobs/{job_id}/attempts", json=body, headers=WORKER)
        assert response.status_code == 422, (field, response.text)
        assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}
    assert api.post("/jobs-next", json={}, headers=WORKER).status_code == 422
    assert (
        api.post(
            "/jobs/not-a-uuid/complete", json={"lease_token": job_id}, headers=WORKER
        ).status_code
        == 422
    )


def test_a_report_breaking_a_database_rule_gets_422(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claim(api)
    response = _report(api, job, directories[0], outcome="permanent_error", confirmed=False)
    assert response.status_code == 422
    assert "error_code is required" in response.json()["detail"]
    nul = _report(
        api, job, directories[0], outcome="needs_action", confirmed=False, action_required="a\x00b"
    )
    assert nul.status_code == 422


def test_oversized_bodies_get_413(api: TestClient) -> None:
    huge = {"worker_id": "w" * (70 * 1024)}
    assert api.post("/jobs-next", json=huge, headers=WORKER).status_code == 413

    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    chunked = api.post(
        "/jobs-next", content=chunks(), headers=WORKER | {"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
