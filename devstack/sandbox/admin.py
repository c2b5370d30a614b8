"""The admin JSON endpoints tests use to count real submissions, a test switch that holds a
site's submit response (the window between a site accepting and the worker hearing), and one
that redesigns a site's form between two canary runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from devstack.sandbox.lifecycle_state import BY_NAME as LIFECYCLE_SITES
from devstack.sandbox.runtime import SandboxDep
from devstack.sandbox.sites.standard import REDESIGNABLE

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


@router.post("/hold")
async def hold(
    sandbox: SandboxDep, site: str = Query(min_length=1, max_length=100)
) -> dict[str, Any]:
    """From now on, a submission the site accepts is recorded at once but its response is held
    until POST /_admin/release (the standard-form sites: plain, slow, flaky, multistep…)."""
    sandbox.state.hold(site)
    return {"holding": sorted(sandbox.state.holds)}


@router.post("/release")
async def release(sandbox: SandboxDep, site: str | None = None) -> dict[str, Any]:
    """Send the held responses of `site` (or of every site) and stop holding."""
    return {"released": sandbox.state.release(site)}


@router.get("/holds")
async def holds(sandbox: SandboxDep) -> dict[str, Any]:
    """Sites holding responses, and how many responses each is holding right now."""
    return {"holding": sorted(sandbox.state.holds), "waiting": dict(sandbox.state.holding)}


@router.post("/redesign")
async def redesign(
    sandbox: SandboxDep, site: str = Query(min_length=1, max_length=100), on: bool = True
) -> dict[str, Any]:
    """Serve `site`'s redesigned form from now on (its business-name field renamed, as on the
    drift site), or its usual one again (`on=false`); a reset also switches it back."""
    if site not in REDESIGNABLE:
        raise HTTPException(422, f"site: {site!r} has no redesign; one of {sorted(REDESIGNABLE)}")
    if on:
        sandbox.state.redesigned.add(site)
    else:
        sandbox.state.redesigned.discard(site)
    return {"redesigned": sorted(sandbox.state.redesigned)}


class SeedListing(BaseModel):
    """A business the lifecycle directory lists before anyone submits (found by its search)."""

    model_config = ConfigDict(extra="forbid")
    site: str
    fields: dict[str, str] = Field(min_length=1)


@router.post("/lifecycle/listings")
async def seed_listing(sandbox: SandboxDep, seed: SeedListing) -> dict[str, Any]:
    if seed.site not in LIFECYCLE_SITES:
        raise HTTPException(422, f"site: no lifecycle directory {seed.site!r}")
    if not seed.fields.get("business_name"):
        raise HTTPException(422, "fields.business_name: required")
    listing = sandbox.state.lifecycle.add_listing(seed.site, seed.fields, created_by=None)
    return listing.as_json()


@router.get("/lifecycle")
async def lifecycle(sandbox: SandboxDep, site: str | None = None) -> dict[str, Any]:
    """The lifecycle directories' accounts (verified or not), listings (seeded, created by an
    account, claimed, live or in moderation) and the verification emails they sent."""
    return sandbox.state.lifecycle.as_json(site)
