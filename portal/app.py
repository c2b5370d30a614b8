"""The portal: one FastAPI app serving the customer pages and the staff dashboard."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from portal import errors
from portal.middleware import OriginGuardMiddleware, SessionMiddleware
from portal.routers import account, business, health, onboarding, public, sign_in
from portal.routers import jobs as job_routes
from portal.routers import staff as staff_routes
from portal.settings import PortalSettings
from portal.state import PortalState
from portal.templating import STATIC_DIR

log = logging.getLogger(__name__)


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    settings.check_production_secrets()
    state = PortalState.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.db.open()
        log.info("portal started", extra={"action": "portal.started", "port": settings.port})
        try:
            yield
        finally:
            # Feature modules register their own cleanups (a PDF browser, …) as extras.
            for extra in list(state.extras.values()):
                closer = getattr(extra, "aclose", None)
                if closer is not None:
                    with contextlib.suppress(Exception):
                        await closer()
            await state.http.aclose()
            await state.db.close()

    app = FastAPI(
        title="DirectoryBolt portal",
        version="1.0.0",
        description="Customer portal and staff dashboard (server-rendered).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.portal = state
    # The middleware added last runs first: cross-site writes are refused before the
    # session is even looked at.
    app.add_middleware(SessionMiddleware, state=state)
    app.add_middleware(OriginGuardMiddleware, portal_url=settings.portal_url)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # ROUTERS — one line per router; feature owners add theirs here.
    app.include_router(health.router)
    app.include_router(public.router)
    app.include_router(onboarding.router)
    app.include_router(sign_in.router)
    app.include_router(business.router)
    app.include_router(account.router)
    app.include_router(staff_routes.router)
    app.include_router(job_routes.router)
    return app
