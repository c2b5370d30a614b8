"""The app factory: the JSON API and the test controls over one task store."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from devstack.twocaptcha import admin, api
from devstack.twocaptcha.errors import CaptchaApiError
from devstack.twocaptcha.settings import Settings
from devstack.twocaptcha.tasks import TaskStore


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    # 2Captcha answers refusals with HTTP 200 and the error in the body.
    assert isinstance(error, CaptchaApiError)
    return JSONResponse(error.json_body())


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="2Captcha stand-in",
        description="Local stand-in for the 2Captcha API (devstack); never used in production.",
    )
    app.state.store = TaskStore(settings or Settings.from_env())
    app.include_router(api.router)
    app.include_router(admin.router)
    app.add_exception_handler(CaptchaApiError, _api_error)
    return app
