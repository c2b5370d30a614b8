"""JobRunner's adapter for the phases (worker/job_runner.py DirectoryLifecycle): the account
and the parked session go to the orchestrator under this job's id, lease and directory."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dbolt.contracts import Assignment, DirectoryAccount
from worker.job_runner import DirectoryLifecycle, JobRunner
from worker.settings import WorkerSettings

JOB, LEASE = uuid.uuid4(), uuid.uuid4()


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def open_account(
        self, job_id: uuid.UUID, lease_token: uuid.UUID, directory_id: str
    ) -> DirectoryAccount:
        self.calls.append(("account", job_id, lease_token, directory_id))
        return DirectoryAccount(login="a@mail.example", password="p", site_url="x", created=True)

    async def save_session(
        self, job_id: uuid.UUID, lease_token: uuid.UUID, directory_id: str, state: dict[str, Any]
    ) -> None:
        self.calls.append(("session", job_id, lease_token, directory_id, state))


def test_the_adapter_speaks_for_this_job_and_directory() -> None:
    assignment = Assignment.model_validate(
        {
            "job_id": JOB,
            "tier": "starter",
            "lease_token": LEASE,
            "lease_expires_at": datetime.now(UTC) + timedelta(minutes=5),
            "business": {"business_name": "Bluebird Bakery"},
            "directories_total": 0,
            "directories": [],
        }
    )
    client = FakeClient()
    runner = JobRunner(assignment, client, None, None, WorkerSettings.model_construct())  # type: ignore[arg-type]
    adapter = DirectoryLifecycle(runner, "lifecycle-verify")

    async def use() -> DirectoryAccount:
        account = await adapter.open_account()
        await adapter.save_session({"cookies": []})
        return account

    assert asyncio.run(use()).login == "a@mail.example"
    assert client.calls == [
        ("account", JOB, LEASE, "lifecycle-verify"),
        ("session", JOB, LEASE, "lifecycle-verify", {"cookies": []}),
    ]
