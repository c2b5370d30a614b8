"""The `submitting` fence and late reports through the orchestrator's worker API, against the
real database: the fence only under the lease (409 means do not submit), a fenced directory
held for review when its lease is lost, the late answer recorded and applied, a late report
without a lease the job held refused."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from dbolt.sql import Queries
from tests.support.orchestrator_harness import STAFF, WORKER
from tests.support.queue_helpers import create_job, enable_test_directories


def _claim(api: TestClient, worker_id: str) -> dict[str, Any]:
    response = api.post("/jobs-next", json={"worker_id": worker_id}, headers=WORKER)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _start(api: TestClient, job: dict[str, Any], directory_id: str) -> Any:
    return api.post(
        f"/jobs/{job['job_id']}/directories/{directory_id}/start",
        json={"lease_token": job["lease_token"]},
        headers=WORKER,
    )


def _fence(api: TestClient, job: dict[str, Any], directory_id: str, attempt: int = 1) -> Any:
    return api.post(
        f"/jobs/{job['job_id']}/directories/{directory_id}/submitting",
        json={"lease_token": job["lease_token"], "attempt": attempt},
        headers=WORKER,
    )


def _report(api: TestClient, job: dict[str, Any], directory_id: str, **fields: Any) -> Any:
    body = {
        "lease_token": job["lease_token"],
        "directory_id": directory_id,
        "attempt": 1,
        "outcome": "success",
        "confirmed": True,
    } | fields
    return api.post(f"/jobs/{job['job_id']}/attempts", json=body, headers=WORKER)


def _statuses(conn: psycopg.Connection[Any], job_id: Any) -> dict[str, str]:
    rows = conn.execute(
        "select directory_id, status::text from job_directories where job_id = %s", (job_id,)
    ).fetchall()
    return dict(rows)


def test_the_fence_needs_the_worker_token_and_a_valid_body(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 1)
    create_job(conn, queries)
    job = _claim(api, "worker-1")
    path = f"/jobs/{job['job_id']}/directories/{directories[0]}/submitting"
    lease = {"lease_token": job["lease_token"]}
    assert api.post(path, json=lease | {"attempt": 1}).status_code == 401
    assert api.post(path, json=lease, headers=WORKER).status_code == 422
    zero = api.post(path, json={"lease_token": job["lease_token"], "attempt": 0}, headers=WORKER)
    assert zero.status_code == 422
    assert "attempt" in zero.text
    not_started = _fence(api, job, directories[0])
    assert not_started.status_code == 409
    assert not_started.json()["error"] == "invalid_transition"


def test_a_pause_after_the_fence_holds_the_directory_and_the_late_answer_is_applied(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    directories = enable_test_directories(conn, 2)
    job_id = create_job(conn, queries)
    job = _claim(api, "worker-1")
    for directory in directories:
        assert _start(api, job, directory).status_code == 200
    fenced = _fence(api, job, directories[0])
    assert fenced.status_code == 200, fenced.text
    assert fenced.json()["status"] == "in_progress"

    paused = api.post(f"/jobs/{job_id}/pause", json={"reason": "A check."}, headers=STAFF)
    assert paused.json()["status"] == "paused"
    assert _statuses(conn, job_id) == {directories[0]: "needs_review", directories[1]: "queued"}

    # The worker, still mid-attempt on the other directory, is told not to submit.
    refused = _fence(api, job, directories[1])
    assert refused.status_code == 409
    assert refused.json()["error"] == "lease_lost"

    # The held submit's answer arrives after the pause: recorded and applied.
    late = _report(api, job, directories[0], listing_url="https://dir.example/l/1")
    assert late.status_code == 200, late.text
    assert late.json()["status"] == "submitted"
    assert conn.execute(
        "select late, worker_id from job_results where job_id = %s", (job_id,)
    ).fetchall() == [(True, "worker-1")]

    # A forged lease is no proof: nothing written.
    forged = _report(
        api, job | {"lease_token": "00000000-0000-4000-8000-000000000000"}, directories[1]
    )
    assert forged.status_code == 409
    assert conn.execute(
        "select count(*) from job_results where job_id = %s", (job_id,)
    ).fetchone() == (1,)

    # Resumed, the job hands out only the directory that was never fenced.
    assert api.post(f"/jobs/{job_id}/resume", headers=STAFF).status_code == 200
    again = _claim(api, "worker-2")
    assert [d["directory_id"] for d in again["directories"]] == directories[1:]
