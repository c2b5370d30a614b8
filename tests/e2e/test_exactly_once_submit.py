"""Exactly one accepted submission per directory across pause, crash and lost leases, with
real processes: the orchestrator, a worker driving real Chromium, the sandbox, the real
database. The sandbox holds the submit response of one site (POST /_admin/hold): the site
has accepted the business, the worker has not heard. In that window staff pause the job, or
the worker is killed (`kill -9`), or its lease expires (the worker frozen with SIGSTOP).
Each time the sandbox's record must show exactly one accepted submission per directory, and
every accepted one must be visible in the job: submitted, or needs_review with the fact
recorded (the `submitting` fence in the audit trail)."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dbolt.sql import Queries
from tests.support.e2e_stack import Stack, job_audit, running_stack, wait_for_job, wait_until
from tests.support.queue_helpers import create_job

pytestmark = pytest.mark.slow

HELD = "plain"
DIRECTORIES = {"sandbox-plain", "sandbox-multistep", "sandbox-auto-labels"}
# The worker waits for the held answer (a short navigation timeout would turn it into a
# timeout, which the fence also covers, but the late answer is what these tests follow).
PATIENT = {
    "NAVIGATION_TIMEOUT_MS": "60000",
    "STEP_TIMEOUT_MS": "60000",
    "STOP_GRACE_SECONDS": "60",
    "CONTEXTS": "1",
}


def _job(stack: Stack) -> str:
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        return str(create_job(conn, Queries.load(), tier="starter"))


def _sandbox(stack: Stack, path: str, **params: str) -> Any:
    response = httpx.post(stack.url("sandbox") + path, params=params, timeout=5)
    response.raise_for_status()
    return response.json()


def _held_submission_recorded(stack: Stack) -> bool:
    return any(s["site"] == HELD for s in stack.submissions())


def _directory(detail: dict[str, Any], directory_id: str) -> dict[str, Any]:
    return next(d for d in detail["directories"] if d["directory_id"] == directory_id)


def _status(stack: Stack, job_id: str, directory_id: str) -> str:
    with stack.staff() as staff:
        return str(_directory(staff.get(f"/jobs/{job_id}").json(), directory_id)["status"])


def _assert_exactly_once(stack: Stack, detail: dict[str, Any]) -> None:
    """One accepted submission per site, and each accepted one visible in the job."""
    accepted = Counter(s["site"] for s in stack.submissions())
    assert set(accepted.values()) == {1}, accepted
    fenced = {a["directory_id"] for a in detail["audit"] if a["action"] == "directory.submitting"}
    for site in accepted:
        directory = _directory(detail, f"sandbox-{site}")
        assert directory["status"] in ("submitted", "needs_review"), directory
        if directory["status"] == "needs_review":
            assert directory["directory_id"] in fenced
            assert "may have gone through" in directory["last_message"]


def test_a_staff_pause_while_the_site_holds_the_answer(db_url: str, tmp_path: Path) -> None:
    with running_stack(db_url, tmp_path) as stack:
        stack.sync_sandbox_directories(DIRECTORIES)
        _sandbox(stack, "/_admin/hold", site=HELD)
        stack.start_worker("worker-1", **PATIENT)
        job_id = _job(stack)
        wait_until(lambda: _held_submission_recorded(stack), what="the held site accepting")

        with stack.staff() as staff:
            paused = staff.post(f"/jobs/{job_id}/pause", json={"reason": "A quick check."})
            assert paused.json()["status"] == "paused"
            # Fenced and unanswered: held for review, not re-queued.
            assert _status(stack, job_id, f"sandbox-{HELD}") == "needs_review"
            _sandbox(stack, "/_admin/release", site=HELD)
            # The worker hears the site's confirmation after its lease went: a late fact,
            # recorded and applied.
            wait_until(
                lambda: _status(stack, job_id, f"sandbox-{HELD}") == "submitted",
                timeout=60,
                what="the late confirmation being applied",
            )
            assert staff.post(f"/jobs/{job_id}/resume").json()["status"] == "pending"
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        assert detail["job"]["status"] == "complete"
        _assert_exactly_once(stack, detail)
        assert {d["directory_id"]: d["status"] for d in detail["directories"]} == dict.fromkeys(
            DIRECTORIES, "submitted"
        )
        late = [a for a in detail["attempts"] if a["directory_id"] == f"sandbox-{HELD}"]
        assert [(a["outcome"], a["late"]) for a in late] == [("success", True)]
        assert '"action": "attempt.unrecorded"' not in stack.log("worker-1")


def test_kill_9_while_the_site_holds_the_answer(db_url: str, tmp_path: Path) -> None:
    with running_stack(db_url, tmp_path, lease_seconds=8) as stack:
        stack.sync_sandbox_directories(DIRECTORIES)
        _sandbox(stack, "/_admin/hold", site=HELD)
        doomed = stack.start_worker("worker-doomed", **PATIENT)
        job_id = _job(stack)
        wait_until(lambda: _held_submission_recorded(stack), what="the held site accepting")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        # The reaper takes the lease back; the fenced directory is held for review.
        wait_until(
            lambda: _status(stack, job_id, f"sandbox-{HELD}") == "needs_review",
            timeout=60,
            what="the reaper holding the fenced directory",
        )
        _sandbox(stack, "/_admin/release", site=HELD)
        stack.start_worker("worker-rescuer", CONTEXTS="1")
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        assert detail["job"]["status"] == "complete"
        _assert_exactly_once(stack, detail)
        assert _directory(detail, f"sandbox-{HELD}")["status"] == "needs_review"
        held_by = [
            (a["actor"], a["details"].get("cause"))
            for a in detail["audit"]
            if a["action"] == "directory.fence_unresolved"
        ]
        assert held_by == [("reaper", "lease_expired")]
        # The rescuer did the rest and never touched the held directory.
        assert not [
            a
            for a in job_audit(stack, job_id)
            if a["actor"] == "worker:worker-rescuer" and a["directory_id"] == f"sandbox-{HELD}"
        ]


def test_lease_expiry_while_the_site_holds_the_answer(db_url: str, tmp_path: Path) -> None:
    with running_stack(db_url, tmp_path, lease_seconds=8) as stack:
        stack.sync_sandbox_directories(DIRECTORIES)
        _sandbox(stack, "/_admin/hold", site=HELD)
        worker = stack.start_worker("worker-1", **PATIENT)
        job_id = _job(stack)
        wait_until(lambda: _held_submission_recorded(stack), what="the held site accepting")
        # Frozen, the worker misses its heartbeats (Chromium still waits for the answer).
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            wait_until(
                lambda: _status(stack, job_id, f"sandbox-{HELD}") == "needs_review",
                timeout=60,
                what="the lease expiring and the fenced directory held",
            )
            _sandbox(stack, "/_admin/release", site=HELD)
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        # The worker wakes, hears the confirmation and reports it under the expired lease.
        wait_until(
            lambda: _status(stack, job_id, f"sandbox-{HELD}") == "submitted",
            timeout=60,
            what="the late confirmation being applied",
        )
        detail = wait_for_job(stack, job_id, {"complete", "failed"})
        assert detail["job"]["status"] == "complete"
        _assert_exactly_once(stack, detail)
        actions = [a["action"] for a in detail["audit"]]
        assert "job.lease_expired" in actions
        late = [a for a in detail["attempts"] if a["directory_id"] == f"sandbox-{HELD}"]
        assert [(a["outcome"], a["late"]) for a in late] == [("success", True)]
