"""Works one claimed job: its remaining directories over a bounded number of browser
contexts, every attempt reported right after it ends, transient failures retried with
backoff, heartbeats in the background, and a clean stop on pause, cancel or shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from dbolt.contracts import (
    Assignment,
    AttemptReport,
    DirectoryAccount,
    DirectoryStatus,
    DirectoryTask,
    JobStatus,
    Outcome,
)
from dbolt.orchestrator_client import (
    DispatchPaused,
    LeaseLostError,
    OrchestratorClient,
    OrchestratorError,
)
from worker.engine import SubmissionEngine
from worker.outcome import AttemptResult
from worker.proxies import ProxiesExhausted, Proxy, ProxyPool
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)


@dataclass
class Work:
    directory: DirectoryTask
    attempt: int
    avoid_proxy: str | None = None


@dataclass
class DirectoryLifecycle:
    """The orchestrator calls the phases of one directory make (worker/phases.py), under
    this job's lease: its account on the directory, and its parked browser session."""

    runner: JobRunner
    directory_id: str

    async def open_account(self) -> DirectoryAccount:
        a = self.runner.assignment
        return await self.runner.client.open_account(a.job_id, a.lease_token, self.directory_id)

    async def save_session(self, storage_state: dict[str, Any]) -> None:
        a = self.runner.assignment
        await self.runner.client.save_session(
            a.job_id, a.lease_token, self.directory_id, storage_state
        )


class JobRunner:
    def __init__(
        self,
        assignment: Assignment,
        client: OrchestratorClient,
        engine: SubmissionEngine,
        proxies: ProxyPool | None,
        settings: WorkerSettings,
    ) -> None:
        self.assignment = assignment
        self.client = client
        self.engine = engine
        self.proxies = proxies
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.stop_reason: str | None = None
        self.queue: asyncio.Queue[Work] = asyncio.Queue()
        self.unfinished = len(assignment.directories)
        self.attempts_made = 0

    @property
    def job_id(self) -> str:
        return str(self.assignment.job_id)

    def stop(self, reason: str) -> None:
        """Stop before the next directory (pause, cancel, lost lease, shutdown)."""
        if not self.stop_event.is_set():
            self.stop_reason = reason
            self.stop_event.set()
            log.info(
                "stopping job",
                extra={"action": "job.stopping", "job_id": self.job_id, "reason": reason},
            )

    def needs_proxy(self) -> bool:
        return (
            self.assignment.tier in self.settings.proxy_required_tiers
            or self.assignment.directories_total > self.settings.proxy_required_over_directories
        )

    async def run(self) -> str:
        """Work the job; returns how it ended: completed, waiting (parked directories left),
        released, stopped or lost."""
        a = self.assignment
        if self.needs_proxy() and (self.proxies is None or not self.proxies.healthy()):
            reason = (
                "no healthy proxy: proxies are mandatory for this job, so nothing was submitted"
            )
            log.error(
                reason, extra={"action": "job.no_proxy", "job_id": self.job_id, "tier": a.tier}
            )
            await self._release(reason)
            return "released"
        for directory in a.directories:
            self.queue.put_nowait(Work(directory, directory.attempts + 1))
        heartbeat = asyncio.create_task(self._heartbeat())
        lanes = [asyncio.create_task(self._lane()) for _ in range(self.settings.contexts)]
        try:
            await self._wait_for_lanes(lanes)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        await self.client.flush_until_empty(max_wait=30)
        return await self._finish()

    async def _wait_for_lanes(self, lanes: list[asyncio.Task[None]]) -> None:
        stopped: asyncio.Future[object] = asyncio.ensure_future(self.stop_event.wait())
        done_lanes: asyncio.Future[object] = asyncio.ensure_future(asyncio.gather(*lanes))
        await asyncio.wait([stopped, done_lanes], return_when=asyncio.FIRST_COMPLETED)
        if self.stop_event.is_set():
            # An attempt under way finishes (and is reported) if it can within the grace
            # period; after that it is abandoned and its browser context closed.
            _, late = await asyncio.wait(lanes, timeout=self.settings.stop_grace_seconds)
            for lane in late:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
        stopped.cancel()
        await asyncio.gather(done_lanes, return_exceptions=True)

    async def _finish(self) -> str:
        a = self.assignment
        if self.stop_reason is None:
            try:
                state = await self.client.complete(a.job_id, a.lease_token)
            except LeaseLostError:
                return "lost"
            except OrchestratorError as error:
                # Directories still to do (a staff retry, or a report not delivered): give
                # the job back so it is claimed again with a fresh list.
                log.warning(
                    "could not complete",
                    extra={
                        "action": "job.complete_refused",
                        "job_id": self.job_id,
                        "error": str(error),
                    },
                )
                await self._release("directories still to do")
                return "released"
            if state.status is not JobStatus.complete:
                # Parked directories left: the job waits for their mail or their time with no
                # lease held (or is pending again at once if one is already due).
                log.info(
                    "job waiting",
                    extra={
                        "action": "job.waiting",
                        "job_id": self.job_id,
                        "status": state.status.value,
                    },
                )
                return "waiting"
            log.info("job complete", extra={"action": "job.completed", "job_id": self.job_id})
            return "completed"
        if self.stop_reason == "shutdown":
            await self._release("worker shutting down")
            return "released"
        return "stopped"

    async def _release(self, reason: str) -> None:
        a = self.assignment
        try:
            await self.client.release(a.job_id, a.lease_token, reason=reason)
        except LeaseLostError:
            pass  # already taken away (paused, cancelled, reaped): nothing to give back
        except (OrchestratorError, OSError) as error:
            log.error(
                "release failed; the lease will expire",
                extra={"action": "job.release_failed", "job_id": self.job_id, "error": str(error)},
            )

    async def _heartbeat(self) -> None:
        expires = self.assignment.lease_expires_at
        interval = max(2.0, (expires - datetime.now(UTC)).total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.client.heartbeat(self.assignment.job_id, self.assignment.lease_token)
            except LeaseLostError:
                self.stop("lease lost")
                return
            except (DispatchPaused, OrchestratorError, OSError) as error:
                # Keep trying: the lease outlives a few missed beats.
                log.warning(
                    "heartbeat failed",
                    extra={
                        "action": "job.heartbeat_failed",
                        "job_id": self.job_id,
                        "error": str(error),
                    },
                )

    async def _lane(self) -> None:
        while not self.stop_event.is_set() and self.unfinished > 0:
            try:
                work = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.sleep(0.05)
                continue
            try:
                await self._attempt(work)
            except (DispatchPaused, OrchestratorError, httpx.TransportError) as error:
                # The orchestrator could not be asked (or answered oddly) before the attempt
                # was made: try the same attempt again shortly. A lane never dies of it, or
                # the job would be completed (or released) under its other lanes' feet.
                log.warning(
                    "could not start a directory; trying again",
                    extra={
                        "action": "attempt.deferred",
                        "job_id": self.job_id,
                        "directory_id": work.directory.directory_id,
                        "error": str(error),
                    },
                )
                self._again_later(work, self.settings.retry_backoff_seconds)
            except Exception:
                # A bug or a browser crash in one attempt must not end the lane either: log
                # it with its traceback and give the directory another go.
                log.exception(
                    "attempt crashed; trying again",
                    extra={
                        "action": "attempt.crashed",
                        "job_id": self.job_id,
                        "directory_id": work.directory.directory_id,
                    },
                )
                self._again_later(work, self.settings.retry_backoff_seconds * 5)

    def _again_later(self, work: Work, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.queue.put_nowait, work)

    def _proxy_for(self, work: Work) -> Proxy | None:
        if self.proxies is None or not self.proxies.proxies:
            return None
        return self.proxies.acquire(avoid=work.avoid_proxy)

    async def _attempt(self, work: Work) -> None:
        a, directory = self.assignment, work.directory
        try:
            await self.client.start_directory(a.job_id, a.lease_token, directory.directory_id)
        except LeaseLostError:
            self.stop("lease lost")
            return
        except OrchestratorError as error:
            if error.status_code != 409:
                raise
            self.unfinished -= 1  # no longer queued (e.g. already submitted): nothing to do
            return
        started = time.monotonic()
        try:
            proxy = self._proxy_for(work)
        except ProxiesExhausted as error:
            proxy = None
            result = AttemptResult(
                Outcome.transient_error, error_code="proxy_error", message=str(error)
            )
        else:
            if directory.proxy_required and proxy is None:
                result = AttemptResult(
                    Outcome.transient_error,
                    error_code="proxy_error",
                    message="this directory needs a proxy and none is configured",
                )
            else:
                result = await self.engine.attempt(
                    directory.model_dump(mode="json"),
                    self.assignment.business,
                    proxy,
                    artifact_name=f"{self.job_id}/{directory.directory_id}-{work.attempt}",
                    fence=self._fence_for(work),
                    lifecycle=DirectoryLifecycle(self, work.directory.directory_id),
                )
        if proxy is not None and self.proxies is not None:
            if result.error_code in ("proxy_error", "rate_limited"):
                self.proxies.failed(proxy)
            else:
                self.proxies.succeeded(proxy)
        self.attempts_made += 1
        await self._report(work, result, int((time.monotonic() - started) * 1000))

    def _fence_for(self, work: Work) -> Callable[[], Awaitable[None]]:
        """The `submitting` fence of this attempt, for the engine to await before the click."""
        a = self.assignment

        async def fence() -> None:
            try:
                await self.client.fence_submit(
                    a.job_id, a.lease_token, work.directory.directory_id, work.attempt
                )
            except LeaseLostError:
                # Paused, cancelled or reaped meanwhile: nothing more is submitted for it.
                self.stop("lease lost")
                raise

        return fence

    async def _report(self, work: Work, result: AttemptResult, duration_ms: int) -> None:
        a, directory = self.assignment, work.directory
        report = AttemptReport.model_validate(
            {
                "lease_token": a.lease_token,
                "directory_id": directory.directory_id,
                "attempt": work.attempt,
                "duration_ms": duration_ms,
                **result.reported(),
            }
        )
        log.info(
            "attempt",
            extra={
                "action": "attempt.reported",
                "job_id": self.job_id,
                "directory_id": directory.directory_id,
                "attempt": work.attempt,
                "outcome": result.outcome.value,
                "error_code": result.error_code,
            },
        )
        try:
            state = await self.client.report_attempt(a.job_id, report)
        except LeaseLostError:
            # A report whose lease was lost is still recorded (a late fact) when the lease
            # was this job's; a refusal here means the queue could not attribute it at all.
            # Say loudly what the site answered so staff can reconcile.
            log.error(
                "attempt result refused: the lease was not recognised",
                extra={
                    "action": "attempt.unrecorded",
                    "job_id": self.job_id,
                    "directory_id": directory.directory_id,
                    "outcome": result.outcome.value,
                    "confirmed": result.confirmed,
                    "listing_url": result.listing_url,
                },
            )
            self.stop("lease lost")
            return
        except OrchestratorError as error:
            log.error(
                "attempt report refused",
                extra={"action": "attempt.refused", "job_id": self.job_id, "error": str(error)},
            )
            self.unfinished -= 1
            return
        retry = (
            state.status is DirectoryStatus.queued
            if state is not None
            else result.transient and work.attempt < directory.max_attempts
        )
        if not retry:
            self.unfinished -= 1
            return
        jitter = 0.5 + random.random()  # noqa: S311 — spreading retries, not cryptography
        delay = self.settings.retry_backoff_seconds * 2 ** (work.attempt - 1) * jitter
        self._again_later(Work(directory, work.attempt + 1, avoid_proxy=result.proxy), delay)
