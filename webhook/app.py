"""The webhook receiver's FastAPI app: POST /stripe/webhook, GET /healthz, and the notifier
and refunder loops in the background of the same process (it holds the Stripe keys)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from dbolt.sql import DatabaseUnavailable
from webhook import inbound_mail, notifier, refunder, stripe_events
from webhook.settings import WebhookSettings
from webhook.state import StateDep, WebhookState

log = logging.getLogger(__name__)


def create_app(
    settings: WebhookSettings | None = None,
    *,
    run_notifier: bool = True,
    run_refunder: bool | None = None,
) -> FastAPI:
    settings = settings or WebhookSettings()
    settings.check_production_secrets()
    state = WebhookState.build(settings)
    started = time.monotonic()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.db.open()
        state.http = httpx.AsyncClient(timeout=10.0, trust_env=False)
        state.wake = asyncio.Event()
        tasks = [asyncio.create_task(notifier.run_forever(state))] if run_notifier else []
        if run_notifier if run_refunder is None else run_refunder:
            tasks.append(asyncio.create_task(refunder.run_forever(state)))
        log.info("webhook started", extra={"action": "webhook.started", "port": settings.port})
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await state.http.aclose()
            await state.db.close()

    app = FastAPI(
        title="DirectoryBolt webhooks",
        version="1.0.0",
        description="Verifies Stripe's signature, applies each event once, emails customers; "
        "takes the campaign mailboxes' inbound mail (Mailgun format, signed).",
        lifespan=lifespan,
        # Stripe events are a few KB (the largest objects, with 50 metadata keys of 500
        # characters, stay far below this). Starlette's RequestBodyLimitMiddleware refuses a
        # larger Content-Length with 413 before reading the body, and a chunked body as soon as
        # it passes the limit, so a flood of bytes is never buffered whole. Nothing is written.
        # Inbound mail may be larger than an event (HTML bodies): the app takes the larger
        # limit and each route refuses above its own.
        max_body_size=settings.body_limit_bytes,
    )
    app.state.webhook = state
    app.include_router(stripe_events.router)
    app.include_router(inbound_mail.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz(state: StateDep) -> JSONResponse:
        body: dict[str, Any] = {"uptime_seconds": round(time.monotonic() - started, 1)}
        try:
            await state.db.fetch_one("database_ping")
        except DatabaseUnavailable:
            return JSONResponse({**body, "status": "unhealthy", "database": "unreachable"}, 503)
        return JSONResponse({**body, "status": "ok", "database": "reachable"})

    return app
