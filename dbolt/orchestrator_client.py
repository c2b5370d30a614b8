"""The worker's client for the orchestrator API (and the tests' and benchmarks').

Attempt reports are never dropped: one that cannot be delivered (network error, 5xx, 503
while the database is away) stays in the outbox and is resent, in order, until the
orchestrator answers. Resending is safe because reports are idempotent per
(job, directory, attempt). A report whose lease was lost meanwhile is still recorded (a late
fact); a 409 is an answer, not a delivery failure: the report was refused for good.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from dbolt.contracts import (
    AccountRequest,
    Assignment,
    AttemptReport,
    ClaimRequest,
    DirectoryAccount,
    DirectoryState,
    JobState,
    LeaseExtended,
    LeaseRequest,
    LiveCheckClaim,
    LiveCheckReport,
    LiveCheckTask,
    ReleaseRequest,
    SessionSave,
    StorageState,
    SubmitFence,
)

log = logging.getLogger(__name__)


# Refusals that say nothing about the report itself: our credentials (a WORKER_TOKEN being
# rotated) or our rate. The attempt happened, so its report is kept and resent, not dropped.
NOT_LOOKED_AT = frozenset({401, 403, 429})


class OrchestratorError(Exception):
    def __init__(self, status_code: int, error: str, detail: str) -> None:
        super().__init__(f"{status_code} {error}: {detail}")
        self.status_code = status_code
        self.error = error
        self.detail = detail


class LeaseLostError(OrchestratorError):
    """The job's lease is no longer ours (expired and reaped, paused, cancelled)."""


class DispatchPaused(OrchestratorError):
    """The orchestrator cannot dispatch now; try again after `retry_after` seconds."""

    def __init__(self, status_code: int, error: str, detail: str, retry_after: float) -> None:
        super().__init__(status_code, error, detail)
        self.retry_after = retry_after


def _log_kept(pending: PendingReport, error: Exception) -> None:
    log.warning(
        "attempt report kept for resending",
        extra={
            "action": "report.deferred",
            "job_id": str(pending.job_id),
            "directory_id": pending.report.directory_id,
            "tries": pending.tries,
            "error": str(error),
        },
    )


def raise_for_answer(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        error, detail = str(body.get("error", "error")), str(body.get("detail", body))
    except ValueError:
        error, detail = "error", response.text[:500]
    if response.status_code == 503:
        retry_after = float(response.headers.get("Retry-After", "5"))
        raise DispatchPaused(503, error, detail, retry_after)
    if response.status_code == 409 and error == "lease_lost":
        raise LeaseLostError(409, error, detail)
    raise OrchestratorError(response.status_code, error, detail)


# A report is known by its job, directory and attempt number.
ReportKey = tuple[uuid.UUID, str, int]


@dataclass
class PendingReport:
    job_id: uuid.UUID
    report: AttemptReport
    tries: int = 0

    @property
    def key(self) -> ReportKey:
        return (self.job_id, self.report.directory_id, self.report.attempt)


@dataclass
class OrchestratorClient:
    http: httpx.AsyncClient
    worker_id: str
    outbox: deque[PendingReport] = field(default_factory=deque)
    # A job's lanes report at once. One flush at a time sends the outbox in order (two would
    # send the same head twice and each pop one, losing the report behind it); a lane whose
    # report another lane's flush delivered (or saw refused) finds the answer here.
    _flushing: asyncio.Lock = field(default_factory=asyncio.Lock)
    _awaited: set[ReportKey] = field(default_factory=set)
    _settled: dict[ReportKey, DirectoryState | OrchestratorError] = field(default_factory=dict)

    @classmethod
    def connect(
        cls, base_url: str, worker_token: str, worker_id: str, timeout: float = 10.0
    ) -> OrchestratorClient:
        http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {worker_token}"},
            timeout=timeout,
        )
        return cls(http=http, worker_id=worker_id)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: Any) -> httpx.Response:
        response = await self.http.post(
            path, content=body.model_dump_json(), headers={"Content-Type": "application/json"}
        )
        raise_for_answer(response)
        return response

    async def claim(self) -> Assignment | None:
        """The next job with its lease, or None when nothing is dispatchable."""
        response = await self._post("/jobs-next", ClaimRequest(worker_id=self.worker_id))
        if response.status_code == 204:
            return None
        return Assignment.model_validate_json(response.content)

    async def heartbeat(self, job_id: uuid.UUID, lease_token: uuid.UUID) -> LeaseExtended:
        response = await self._post(
            f"/jobs/{job_id}/heartbeat", LeaseRequest(lease_token=lease_token)
        )
        return LeaseExtended.model_validate_json(response.content)

    async def start_directory(
        self, job_id: uuid.UUID, lease_token: uuid.UUID, directory_id: str
    ) -> DirectoryState:
        response = await self._post(
            f"/jobs/{job_id}/directories/{directory_id}/start",
            LeaseRequest(lease_token=lease_token),
        )
        return DirectoryState.model_validate_json(response.content)

    async def fence_submit(
        self, job_id: uuid.UUID, lease_token: uuid.UUID, directory_id: str, attempt: int
    ) -> DirectoryState:
        """Record that this attempt's final submit is about to be sent. Raises unless the
        orchestrator recorded it: any exception means do not submit."""
        response = await self._post(
            f"/jobs/{job_id}/directories/{directory_id}/submitting",
            SubmitFence(lease_token=lease_token, attempt=attempt),
        )
        return DirectoryState.model_validate_json(response.content)

    async def _deliver(self, pending: PendingReport) -> DirectoryState:
        pending.tries += 1
        response = await self._post(f"/jobs/{pending.job_id}/attempts", pending.report)
        return DirectoryState.model_validate_json(response.content)

    async def report_attempt(
        self, job_id: uuid.UUID, report: AttemptReport
    ) -> DirectoryState | None:
        """Deliver this report (after any still waiting); None if it had to be kept for later.
        Raises the orchestrator's refusal of this report (lease lost, invalid)."""
        pending = PendingReport(job_id, report)
        self._awaited.add(pending.key)
        self.outbox.append(pending)
        try:
            await self.flush()
        finally:
            self._awaited.discard(pending.key)
        settled = self._settled.pop(pending.key, None)
        if isinstance(settled, OrchestratorError):
            raise settled
        return settled

    async def flush(self) -> dict[ReportKey, DirectoryState]:
        """Send what the outbox holds, oldest first; stop at the first delivery failure. A
        refused report is dropped from the outbox (resending cannot change the answer) and
        raised to the lane that reported it, or logged when none is waiting for it."""
        async with self._flushing:
            delivered: dict[ReportKey, DirectoryState] = {}
            while self.outbox:
                pending = self.outbox[0]
                try:
                    state = await self._deliver(pending)
                except (httpx.TransportError, DispatchPaused) as error:
                    _log_kept(pending, error)
                    return delivered
                except OrchestratorError as error:
                    if error.status_code >= 500 or error.status_code in NOT_LOOKED_AT:
                        _log_kept(pending, error)
                        return delivered
                    self.outbox.popleft()
                    log.error(
                        "attempt report refused",
                        extra={
                            "action": "report.refused",
                            "job_id": str(pending.job_id),
                            "directory_id": pending.report.directory_id,
                            "error": str(error),
                        },
                    )
                    self._settle(pending.key, error)
                    continue
                self.outbox.popleft()
                delivered[pending.key] = state
                self._settle(pending.key, state)
            return delivered

    def _settle(self, key: ReportKey, answer: DirectoryState | OrchestratorError) -> None:
        # Only a lane still awaiting its report collects the answer; nothing else is kept.
        if key in self._awaited:
            self._settled[key] = answer

    async def flush_until_empty(self, max_wait: float = 60.0) -> None:
        """Resend with jittered backoff until the outbox is empty or max_wait passes."""
        delay = 0.2
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while self.outbox and loop.time() < deadline:
            await self.flush()
            if self.outbox:
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 — jitter, not crypto
                delay = min(delay * 2, 5.0)

    async def complete(self, job_id: uuid.UUID, lease_token: uuid.UUID) -> JobState:
        response = await self._post(
            f"/jobs/{job_id}/complete", LeaseRequest(lease_token=lease_token)
        )
        return JobState.model_validate_json(response.content)

    async def release(
        self, job_id: uuid.UUID, lease_token: uuid.UUID, reason: str | None = None
    ) -> JobState:
        response = await self._post(
            f"/jobs/{job_id}/release", ReleaseRequest(lease_token=lease_token, reason=reason)
        )
        return JobState.model_validate_json(response.content)

    # The listing lifecycle (docs/recipes.md, phases) --------------------------------------

    async def save_session(
        self,
        job_id: uuid.UUID,
        lease_token: uuid.UUID,
        directory_id: str,
        storage_state: StorageState,
    ) -> None:
        """Keep a parked directory's browser session (sealed in the vault by the orchestrator)
        so the worker that resumes it is signed in where this one stopped."""
        await self._post(
            f"/jobs/{job_id}/directories/{directory_id}/session",
            SessionSave(lease_token=lease_token, storage_state=storage_state),
        )

    async def open_account(
        self, job_id: uuid.UUID, lease_token: uuid.UUID, directory_id: str
    ) -> DirectoryAccount:
        """The customer's account on this directory: opened now (a generated password, kept
        in the vault) or the one an earlier job opened. Never log what it returns."""
        response = await self._post(
            f"/jobs/{job_id}/directories/{directory_id}/account",
            AccountRequest(lease_token=lease_token),
        )
        return DirectoryAccount.model_validate_json(response.content)

    async def claim_live_checks(self, worker_id: str, limit: int = 10) -> list[LiveCheckTask]:
        """Due checks of listings, each leased to this worker (none: an empty list)."""
        response = await self._post(
            "/live-checks/next", LiveCheckClaim(worker_id=worker_id, limit=limit)
        )
        return [LiveCheckTask.model_validate(item) for item in response.json()]

    async def report_live_check(self, check_id: int, report: LiveCheckReport) -> None:
        await self._post(f"/live-checks/{check_id}", report)
