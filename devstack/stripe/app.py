"""The app factory: Stripe's API, the hosted checkout page and the test controls over one
in-memory account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from devstack.stripe import admin, api, hosted
from devstack.stripe.account import Account
from devstack.stripe.errors import StripeError, stripe_error_response
from devstack.stripe.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    account = Account(settings or Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # Pending retries die with the process, as they would if Stripe forgot them.
        await account.webhooks.close()

    app = FastAPI(
        title="Stripe stand-in",
        description="Local stand-in for Stripe Checkout and webhooks (devstack); "
        "never used in production.",
        lifespan=lifespan,
    )
    app.state.account = account
    app.include_router(admin.router)
    app.include_router(hosted.router)
    app.include_router(api.router)  # last: its catch-all answers unknown /v1 paths
    app.add_exception_handler(StripeError, stripe_error_response)
    return app
