"""The admin JSON endpoints tests use to count real submissions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from devstack.sandbox.runtime import SandboxDep

router = APIRouter(prefix="/_admin", tags=["admin"])


@router.get("/submissions")
async def submissions(sandbox: SandboxDep, site: str | None = None) -> list[dict[str, Any]]:
    """Every submission a site accepted (refusals are not submissions), oldest first."""
    return [
        submission.as_json()
        for submission in sandbox.state.submissions
        if site is None or submission.site == site
    ]


@router.post("/reset")
async def reset(sandbox: SandboxDep) -> dict[str, bool]:
    sandbox.state.reset()
    return {"reset": True}
