"""Sites whose failure is their behaviour: down (500), the form gone (404), slow (a delay past
the worker's timeout), flaky (503 once per business) and rate-limited (429 unless proxied).

`refused` has no code at all: its directory entry points at a port where nothing listens.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse

from devstack.sandbox.listings import accept_standard, add_site_pages, standard_form_page
from devstack.sandbox.pages import PageError
from devstack.sandbox.runtime import SandboxDep, came_via_proxy
from devstack.sandbox.state import name_key

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
RATE_LIMIT_TEXT = "Too many requests from your network"


# --- down: every request answers 500 -----------------------------------------------------

down_router = APIRouter()


@down_router.api_route("/down", methods=ALL_METHODS)
@down_router.api_route("/down/{path:path}", methods=ALL_METHODS)
async def down(path: str = "") -> HTMLResponse:
    raise PageError(500, "Internal Server Error")


# --- form-gone: the homepage is up, the submit page 404s ------------------------------------

form_gone_router = APIRouter()
add_site_pages(form_gone_router, "form-gone")


@form_gone_router.api_route("/form-gone/submit", methods=["GET", "POST"])
async def form_gone() -> HTMLResponse:
    raise PageError(404, "Page not found")


# --- slow: the submit page answers only after the configured delay --------------------------

slow_router = APIRouter()
add_site_pages(slow_router, "slow")


@slow_router.get("/slow/submit", response_class=HTMLResponse)
async def slow_form(sandbox: SandboxDep) -> HTMLResponse:
    await asyncio.sleep(sandbox.settings.slow_delay_seconds)
    return standard_form_page("slow")


@slow_router.post("/slow/submit", response_class=HTMLResponse)
async def slow_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    await asyncio.sleep(sandbox.settings.slow_delay_seconds)
    return await accept_standard(request, sandbox, "slow")


# --- flaky: the first submission of each business answers 503 ------------------------------

flaky_router = APIRouter()
add_site_pages(flaky_router, "flaky")


@flaky_router.get("/flaky/submit", response_class=HTMLResponse)
async def flaky_form() -> HTMLResponse:
    return standard_form_page("flaky")


@flaky_router.post("/flaky/submit", response_class=HTMLResponse)
async def flaky_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    key = name_key(str(form.get("business_name") or ""))
    if key and key not in sandbox.state.flaky_failed:
        sandbox.state.flaky_failed.add(key)
        raise PageError(
            503, "Service temporarily unavailable, try again", headers={"Retry-After": "1"}
        )
    return await accept_standard(request, sandbox, "flaky")


# --- ratelimited: 429 for every request that did not come through one of our proxies -----


async def _require_proxy(request: Request) -> None:
    if not came_via_proxy(request):
        raise PageError(429, RATE_LIMIT_TEXT, headers={"Retry-After": "60"})


ratelimited_router = APIRouter(dependencies=[Depends(_require_proxy)])
add_site_pages(ratelimited_router, "ratelimited")


@ratelimited_router.get("/ratelimited/submit", response_class=HTMLResponse)
async def ratelimited_form() -> HTMLResponse:
    return standard_form_page("ratelimited")


@ratelimited_router.post("/ratelimited/submit", response_class=HTMLResponse)
async def ratelimited_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    return await accept_standard(request, sandbox, "ratelimited")


routers = (down_router, form_gone_router, slow_router, flaky_router, ratelimited_router)
