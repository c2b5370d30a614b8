"""Pause / cancel from Realtime stop only the job they are for: a subscription left over from
the worker's previous job (job:A, still joined while job B runs) must not stop job B."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dbolt.contracts import Assignment
from worker.job_runner import JobRunner
from worker.main import Worker
from worker.settings import WorkerSettings


def _runner(job_id: uuid.UUID, settings: WorkerSettings) -> JobRunner:
    assignment = Assignment.model_validate(
        {
            "job_id": job_id,
            "tier": "starter",
            "lease_token": uuid.uuid4(),
            "lease_expires_at": datetime.now(UTC) + timedelta(minutes=5),
            "business": {"business_name": "Bluebird Bakery"},
            "directories_total": 0,
            "directories": [],
        }
    )
    # Stopping touches neither the orchestrator nor the browser.
    return JobRunner(assignment, None, None, None, settings)  # type: ignore[arg-type]


def test_a_pause_for_another_job_does_not_stop_the_one_being_worked() -> None:
    settings = WorkerSettings.model_construct()
    worker = Worker(WorkerSettings(worker_id="worker-control"))
    job_a, job_b = uuid.uuid4(), uuid.uuid4()
    worker.runner = _runner(job_b, settings)

    worker._on_control(str(job_a), "paused")
    worker._on_control(str(job_a), "cancelled")
    assert not worker.runner.stop_event.is_set()

    worker._on_control(str(job_b), "resumed")
    assert not worker.runner.stop_event.is_set()
    worker._on_control(str(job_b), "paused")
    assert worker.runner.stop_reason == "paused"
