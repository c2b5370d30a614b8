"""The admin JSON endpoints tests use to count real submissions, and the request counter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from devstack.sandbox import catalog
from devstack.sandbox.runtime import SandboxDep, came_via_proxy, current_sandbox

router = APIRouter(prefix="/_admin", tags=["admin"])


@router.get("/submissions")
async def submissions(sandbox: SandboxDep, site: str | None = None) -> list[dict[str, Any]]:
    """Every submission a site accepted (refusals are not submissions), oldest first."""
    return [
        submission.as_json()
        for submission in sandbox.state.submissions
        if site is None or submission.site == site
    ]


@router.get("/requests")
async def requests(sandbox: SandboxDep) -> dict[str, dict[str, int]]:
    """Requests per site since the last reset: total, via one of our proxies, direct."""
    return {name: count.as_json() for name, count in sorted(sandbox.state.requests.items())}


@router.post("/reset")
async def reset(sandbox: SandboxDep) -> dict[str, bool]:
    sandbox.state.reset()
    return {"reset": True}


async def count_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """HTTP middleware: counts each request to a site before the site answers, so a refused
    request (429, 500…) counts too."""
    site = request.url.path.strip("/").split("/", 1)[0]
    if site in catalog.BY_NAME:
        current_sandbox(request).state.count_request(site, via_proxy=came_via_proxy(request))
    return await call_next(request)
