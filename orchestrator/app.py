"""The orchestrator's FastAPI app: the only door to the queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator

from fastapi import FastAPI

from orchestrator import errors, live_check_schedule, loops
from orchestrator.body_limit import BodyLimitMiddleware
from orchestrator.routers import (
    accounts,
    canary,
    live_checks,
    ops,
    scouts,
    staff,
    staff_review,
    worker,
)
from orchestrator.sessions import SESSION_ROUTE_MAX_BODY_BYTES
from orchestrator.settings import OrchestratorSettings
from orchestrator.state import AppState

log = logging.getLogger(__name__)
# How long stopping may take: the background loops and the database pool.
SHUTDOWN_SECONDS = 10.0
_SESSION_PATH = re.compile(r"/jobs/[^/]+/directories/[^/]+/session")


def create_app(settings: OrchestratorSettings | None = None) -> FastAPI:
    settings = settings or OrchestratorSettings()
    settings.check_production_secrets()
    state = AppState.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.db.open()
        tasks = [
            asyncio.create_task(
                loops.run_forever(state, "reaper", settings.reaper_interval_seconds, loops.reap)
            ),
            asyncio.create_task(
                loops.run_forever(state, "stats", settings.stats_interval_seconds, loops.refresh)
            ),
            asyncio.create_task(
                loops.run_forever(state, "waker", settings.wake_interval_seconds, loops.wake_due)
            ),
            asyncio.create_task(
                loops.run_forever(
                    state,
                    "directory_failures",
                    settings.directory_failure_check_seconds,
                    loops.check_directory_failures,
                )
            ),
            # The live-check schedule from LIVE_CHECK_DELAYS: at once, then now and then.
            asyncio.create_task(
                loops.run_forever(
                    state,
                    "live_check_policy",
                    settings.live_check_policy_seconds,
                    live_check_schedule.apply_policy,
                )
            ),
        ]
        log.info(
            "orchestrator started", extra={"action": "orchestrator.started", "port": settings.port}
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # Bounded: a clean-clone test run once hung here for 5 minutes (the loops' or the
            # pool's shutdown never finished); a process that cannot stop in time must still
            # stop, well inside Kubernetes' grace period, and say so.
            try:
                async with asyncio.timeout(SHUTDOWN_SECONDS):
                    await asyncio.gather(*tasks, return_exceptions=True)
                    await state.db.close()
            except TimeoutError:
                log.error(
                    "shutdown did not finish in time; stopping anyway",
                    extra={"action": "orchestrator.shutdown_timeout", "seconds": SHUTDOWN_SECONDS},
                )

    app = FastAPI(
        title="DirectoryBolt orchestrator",
        version="1.0.0",
        description=(
            "The only door to the queue: workers claim and report here; staff look and intervene."
        ),
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry asks the global providers whether they are set up on
        # every request; the orchestrator exports Prometheus metrics and JSON logs, not OTel.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.orchestrator = state
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # A parked directory's browser session (SessionSave) is the one large request.
        larger=[
            (_SESSION_PATH, max(settings.max_body_bytes, SESSION_ROUTE_MAX_BODY_BYTES)),
            (scouts.RESULT_PATH, max(settings.max_body_bytes, scouts.RESULT_MAX_BYTES)),
        ],
    )
    errors.install(app, settings.retry_after_seconds)
    app.include_router(worker.router)
    app.include_router(accounts.router)
    app.include_router(live_checks.router)
    app.include_router(canary.router)
    app.include_router(scouts.router)
    app.include_router(staff.router)
    app.include_router(staff_review.router)
    app.include_router(ops.router)
    return app
