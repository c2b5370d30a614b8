"""The app factory: every site's router and the admin endpoints."""

from __future__ import annotations

from fastapi import FastAPI

from devstack.sandbox import admin, home
from devstack.sandbox.pages import PageError, page_error_response
from devstack.sandbox.runtime import Sandbox
from devstack.sandbox.settings import Settings
from devstack.sandbox.sites import (
    auto,
    captchas,
    failures,
    layouts,
    lifecycle,
    standard,
    strict,
    walls,
    widgets,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    # No OpenAPI pages: the sandbox pretends to be ordinary websites.
    app = FastAPI(title="DirectoryBolt sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = Sandbox(settings or Settings.from_env())
    app.add_exception_handler(PageError, page_error_response)
    app.include_router(admin.router)
    app.include_router(home.router)
    for router in (
        standard.router,
        layouts.router,
        widgets.router,
        captchas.router,
        auto.router,
        strict.router,
        walls.router,
        *failures.routers,
        *lifecycle.routers,
    ):
        app.include_router(router)
    return app
