"""The portal: one FastAPI app serving the customer pages and the staff dashboard."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from portal import errors
from portal.auth.session_middleware import SessionMiddleware
from portal.middleware import OriginGuardMiddleware, SecurityHeadersMiddleware
from portal.routers import account, business, health, mailbox, onboarding, public, sign_in
from portal.routers import directory_accounts as directory_account_routes
from portal.routers import job_actions as job_action_routes
from portal.routers import jobs as job_routes
from portal.routers import staff as staff_routes
from portal.routers import staff_directories as staff_directory_routes
from portal.routers import staff_review as staff_review_routes
from portal.routers import staff_scout as staff_scout_routes
from portal.routers import unsubscribe as unsubscribe_routes
from portal.settings import PortalSettings
from portal.state import PortalState
from portal.templating import STATIC_DIR

log = logging.getLogger(__name__)

# Request bodies, enforced by Starlette's RequestBodyLimitMiddleware (FastAPI's max_body_size):
# a Content-Length over the limit is refused with 413 before the body is read, and a chunked
# body the moment it passes the limit, so nothing is buffered, spooled or parsed past it.
# Every form the portal takes is a few KB (a staff retry naming all 500 directories of an
# enterprise job is the largest, ~30 KB); 64 KiB leaves room.
PORTAL_MAX_BODY_BYTES = 64 * 1024
# The Business Info Form carries the logo (business_form.LOGO_MAX_BYTES) and its text fields.
LOGO_FORM_MAX_BODY_BYTES = business.MAX_REQUEST_BYTES
# FastAPI's form parser for Form() parameters (Starlette's defaults are 1000 fields, 1000
# files spooled to disk without a size cap, 1 MiB per field). No automatic form takes a file
# (the logo form parses its own, max_files=1, max_fields=200), and none has more than a few
# fields or a field past a few hundred bytes.
FORM_LIMITS: dict[str, int] = {"max_fields": 20, "max_files": 0, "max_part_size": 16 * 1024}
# A staff retry posts one directory_ids field per directory: up to 500 for enterprise.
STAFF_FORM_LIMITS: dict[str, int] = {"max_fields": 600}


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
        max_body_size=PORTAL_MAX_BODY_BYTES,
        form_limits=FORM_LIMITS,  # type: ignore[arg-type]
    )
    app.state.portal = state
    # The middleware added last runs first: cross-site writes are refused before the
    # session is even looked at.
    app.add_middleware(SessionMiddleware, state=state)
    app.add_middleware(
        OriginGuardMiddleware,
        portal_url=settings.portal_url,
        # One-click unsubscribe acts on the token in its URL, never on a cookie; the router
        # says why a cross-site POST there is no forgery.
        token_posts=(unsubscribe_routes.TOKEN_PATH,),
    )
    # Outermost of ours, so refusals by the guard above carry the headers too.
    app.add_middleware(SecurityHeadersMiddleware, portal_url=settings.portal_url)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # ROUTERS — one line per router; feature owners add theirs here.
    app.include_router(health.router)
    app.include_router(public.router)
    app.include_router(onboarding.router)
    app.include_router(sign_in.router)
    app.include_router(business.router, max_body_size=LOGO_FORM_MAX_BODY_BYTES)
    app.include_router(account.router)
    app.include_router(mailbox.router)
    app.include_router(staff_routes.router, form_limits=STAFF_FORM_LIMITS)  # type: ignore[arg-type]
    app.include_router(job_routes.router)
    app.include_router(staff_review_routes.router)
    app.include_router(staff_directory_routes.router)
    app.include_router(staff_scout_routes.router)
    app.include_router(job_action_routes.router)
    app.include_router(directory_account_routes.router)
    app.include_router(unsubscribe_routes.router)
    return app
