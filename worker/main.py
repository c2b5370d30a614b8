"""The worker process: claim through the orchestrator, work the job, claim the next.

Wakes on Realtime (`jobs`), polls with jittered backoff when it cannot. SIGTERM finishes or
abandons the attempt under way, reports it, releases the job and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import sys

import httpx
from playwright.async_api import Browser, async_playwright

from dbolt.orchestrator_client import DispatchPaused, OrchestratorClient, OrchestratorError
from worker.auth_session import AuthFailed, ServiceAccountSession
from worker.browser_keeper import BrowserKeeper
from worker.browser_launch import launch_options
from worker.captcha import CaptchaSolver
from worker.engine import EngineSettings, SubmissionEngine
from worker.health import WorkerStatus, serve_health
from worker.job_runner import JobRunner
from worker.live_checks import LiveChecker, live_check_loop
from worker.proxies import ProxyPool, parse_proxy_urls
from worker.realtime_link import RealtimeLink
from worker.retention import retention_loop
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.status = WorkerStatus(settings.worker_id)
        self.shutting_down = asyncio.Event()
        self.wake = asyncio.Event()
        self.runner: JobRunner | None = None
        # Non-zero when the worker ends because it cannot go on (no browser): restart me.
        self.exit_code = 0
        # The idle poll's interval while Realtime is down: poll_min doubling to poll_max.
        self.poll_backoff = settings.poll_min_seconds
        secret = settings.proxy_urls.get_secret_value() if settings.proxy_urls else ""
        self.proxies = ProxyPool(parse_proxy_urls(secret)) if secret else None

    def request_shutdown(self) -> None:
        log.info("shutting down", extra={"action": "worker.shutdown"})
        self.shutting_down.set()
        self.wake.set()
        if self.runner is not None:
            self.runner.stop("shutdown")

    def _next_poll(self) -> float:
        """The jittered poll interval, doubling up to poll_max for the next one."""
        wait = self.poll_backoff * (0.5 + random.random())  # noqa: S311 — jitter
        self.poll_backoff = min(self.poll_backoff * 2, self.settings.poll_max_seconds)
        return wait

    async def _idle(self, seconds: float) -> None:
        """Wait for a wake-up, a shutdown, or the poll interval, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=seconds)
        self.wake.clear()

    async def run(self) -> None:
        s = self.settings
        health = await serve_health(self.status, s.health_port) if s.health_port else None
        client = OrchestratorClient.connect(
            s.orchestrator_url, s.worker_token.get_secret_value(), s.worker_id
        )
        solver = (
            CaptchaSolver.connect(
                s.twocaptcha_base_url,
                s.twocaptcha_api_key.get_secret_value(),
                s.captcha_timeout_seconds,
                s.captcha_poll_seconds,
            )
            if s.twocaptcha_api_key
            else None
        )
        anon_key = s.supabase_anon_key.get_secret_value() if s.supabase_anon_key else None
        realtime = RealtimeLink(
            s.supabase_url,
            anon_key,
            s.realtime_access_token.get_secret_value() if s.realtime_access_token else None,
            heartbeat_seconds=s.realtime_heartbeat_seconds,
            retry_min_seconds=s.realtime_retry_min_seconds,
            retry_max_seconds=s.realtime_retry_max_seconds,
        )
        auth = await self._sign_in(anon_key, realtime)
        # Customer data in screenshots and page HTML is not kept past its retention.
        sweeper = asyncio.create_task(
            retention_loop(
                s.artifacts_dir,
                s.artifacts_retention_days,
                s.artifacts_sweep_seconds,
                self.shutting_down,
            )
        )
        refresher = (
            asyncio.create_task(auth.keep_fresh(realtime.update_token))
            if auth is not None
            else None
        )
        try:
            async with async_playwright() as playwright:
                # One Chromium per worker; every attempt gets a fresh context of its own.
                # Launched again if it dies (worker/browser_keeper.py).
                keeper = BrowserKeeper(
                    playwright.chromium,
                    launch_options(s),
                    on_new=lambda fresh: self._use_browser(fresh, engine, checker),
                    on_give_up=self._give_up,
                )
                browser = await keeper.start()
                engine = SubmissionEngine(
                    browser,
                    solver,
                    EngineSettings.from_worker(s),
                )
                # Beside the job loop: due checks that listings went live (worker/live_checks.py).
                checker = LiveChecker(
                    engine.settings.destinations, s.navigation_timeout_ms / 1000, browser
                )
                checks = (
                    asyncio.create_task(
                        live_check_loop(
                            client,
                            checker,
                            s.worker_id,
                            self.shutting_down,
                            s.live_check_interval_seconds,
                            s.live_check_batch,
                        )
                    )
                    if s.live_check_batch
                    else None
                )
                listening = await realtime.connect(self.wake.set, self._on_realtime_change)
                self.status.wake_ups = "realtime" if listening else "polling"
                self.status.realtime_error = realtime.last_error
                try:
                    await self._loop(client, engine, realtime)
                finally:
                    if checks is not None:
                        checks.cancel()
                        await asyncio.gather(checks, return_exceptions=True)
                await keeper.close()
        finally:
            sweeper.cancel()
            if refresher is not None:
                refresher.cancel()
            if auth is not None:
                await auth.aclose()
            await client.flush_until_empty(max_wait=10)
            await realtime.close()
            await client.aclose()
            if solver is not None:
                await solver.aclose()
            if health is not None:
                health.close()

    async def _sign_in(
        self, anon_key: str | None, realtime: RealtimeLink
    ) -> ServiceAccountSession | None:
        """Sign the service account in for Realtime; without it the worker polls."""
        s = self.settings
        if not (anon_key and s.worker_auth_email and s.worker_auth_password):
            return None
        auth = ServiceAccountSession(
            s.supabase_url, anon_key, s.worker_auth_email, s.worker_auth_password.get_secret_value()
        )
        try:
            realtime.access_token = await auth.sign_in()
        except AuthFailed as error:
            log.warning(
                "could not sign in; polling for jobs",
                extra={"action": "auth.sign_in_failed", "error": str(error)},
            )
            await auth.aclose()
            return None
        return auth

    async def _loop(
        self, client: OrchestratorClient, engine: SubmissionEngine, realtime: RealtimeLink
    ) -> None:
        s = self.settings
        while not self.shutting_down.is_set():
            self.status.state = "idle"
            self.status.proxies_healthy = len(self.proxies.healthy()) if self.proxies else None
            try:
                assignment = await client.claim()
            except DispatchPaused as paused:
                log.info(
                    "dispatch paused",
                    extra={"action": "worker.dispatch_paused", "retry_after": paused.retry_after},
                )
                await self._idle(paused.retry_after)
                continue
            except (httpx.TransportError, OrchestratorError) as error:
                log.warning(
                    "orchestrator unreachable",
                    extra={"action": "worker.claim_failed", "error": str(error)},
                )
                await self._idle(self._next_poll())
                continue
            if assignment is None:
                # With Realtime a wake-up arrives when work does; the poll is a safety net.
                if realtime.connected:
                    await self._idle(s.realtime_poll_seconds * (0.5 + random.random()))  # noqa: S311 — jitter
                else:
                    await self._idle(self._next_poll())
                continue
            self.poll_backoff = s.poll_min_seconds
            self.runner = JobRunner(assignment, client, engine, self.proxies, s)
            self.status.state, self.status.current_job = "working", str(assignment.job_id)
            await realtime.watch_job(str(assignment.job_id), self._on_control)
            try:
                ended = await self.runner.run()
            finally:
                await realtime.unwatch_job()
                self.runner, self.status.current_job = None, None
            self.status.jobs_done += ended == "completed"
            self.status.reports_waiting = len(client.outbox)
            log.info(
                "job ended",
                extra={
                    "action": "worker.job_ended",
                    "job_id": str(assignment.job_id),
                    "how": ended,
                },
            )

    def _on_realtime_change(self, listening: bool, error: str | None) -> None:
        """Realtime dropped or came back. Either way claim at once: a drop may have hidden
        a wake-up, and the idle wait under way was sized for the other mode. After a drop
        the poll starts again from its shortest interval, as for a worker that never had
        Realtime."""
        self.status.wake_ups = "realtime" if listening else "polling"
        self.status.realtime_error = error
        self.poll_backoff = self.settings.poll_min_seconds
        self.wake.set()

    @staticmethod
    def _use_browser(browser: Browser, engine: SubmissionEngine, checker: LiveChecker) -> None:
        engine.browser = checker.browser = browser

    def _give_up(self) -> None:
        log.error("no browser; exiting", extra={"action": "worker.no_browser"})
        self.exit_code = 1
        self.request_shutdown()

    def _on_control(self, job_id: str, event: str) -> None:
        # A subscription left over from an earlier job must not stop this one.
        runner = self.runner
        if runner is not None and runner.job_id == job_id and event in ("paused", "cancelled"):
            runner.stop(event)


def main() -> None:
    from dbolt.log import configure_logging

    settings = WorkerSettings()
    configure_logging(settings.log_level)
    settings.check_production_secrets()

    async def run() -> int:
        worker = Worker(settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.request_shutdown)
        await worker.run()
        return worker.exit_code

    sys.exit(asyncio.run(run()))
