"""Scouting a site from the staff dashboard, under /staff/scout (issue 17, item 1).

Staff type a URL; the request is a row (staff_directory_scout_request, audited) that a
worker-side process takes through the orchestrator and scouts read-only with the egress
guard — the portal never runs a browser and never opens the URL itself. The scout's page
updates itself when the scout is done (portal/static/staff_scout.js), then shows the walls
and the captcha in plain words, the form's fields, the recipe draft, the unmapped required
fields and the screenshots, or why the URL was refused. Staff may save a done draft as a
disabled catalogue entry (audited) and are shown the directories.json entry to paste. Staff
only; every write is a POST.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import FileResponse, Response

from dbolt.sql import InvalidArgument, InvalidTransition, NotFound
from portal.dependencies import PortalStateDep, StaffViewer
from portal.staff import scout_view
from portal.staff.artifacts import IMAGE_HEADERS, ArtifactRefused, resolve
from portal.state import PortalState
from portal.templating import render
from portal.viewer import Viewer

log = logging.getLogger(__name__)

router = APIRouter(prefix="/staff/scout", tags=["staff"])

ScoutId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The scout's id")]
RECENT = 20
TIERS = ("starter", "growth", "professional", "enterprise")


async def _scout(state: PortalState, viewer: Viewer, scout_id: int) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("directory_scouts_get", scout_id=scout_id)
        assert row is not None
        scout: dict[str, Any] = row["scout"]
        saved = None
        if scout.get("saved_directory_id"):
            found = await q.fetch_one(
                "directories_get_detail", directory_id=scout["saved_directory_id"], canary_runs=1
            )
            saved = None if found is None else found["detail"]["directory"]
    return scout_view.detail(scout, saved)


@router.get("")
async def scout_page(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    async with state.db.as_viewer(viewer) as q:
        scouts = await q.fetch_all("directory_scouts_list", max_rows=RECENT)
    return render(
        request,
        "staff/scout.html",
        section="scout",
        scouts=scouts,
        status_words=scout_view.STATUS,
        error=None,
        url="",
    )


@router.post("")
async def request_scout(
    request: Request,
    viewer: StaffViewer,
    state: PortalStateDep,
    url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        async with state.db.as_viewer(viewer) as q:
            row = await q.fetch_one("directory_scouts_request", url=url)
    except InvalidArgument as error:
        async with state.db.as_viewer(viewer) as q:
            scouts = await q.fetch_all("directory_scouts_list", max_rows=RECENT)
        return render(
            request,
            "staff/scout.html",
            status_code=422,
            section="scout",
            scouts=scouts,
            status_words=scout_view.STATUS,
            error=str(error),
            url=url,
        )
    assert row is not None
    log.info(
        "staff asked for a scout",
        extra={"action": "staff.scout_requested", "scout_id": row["scout_id"]},
    )
    return RedirectResponse(f"/staff/scout/{row['scout_id']}", status_code=303)


@router.get("/{scout_id}")
async def scout_detail(
    request: Request, scout_id: ScoutId, viewer: StaffViewer, state: PortalStateDep
) -> Response:
    return render(
        request,
        "staff/scout_detail.html",
        section="scout",
        tiers=TIERS,
        error=None,
        form={},
        **await _scout(state, viewer, scout_id),
    )


@router.get("/{scout_id}/status")
async def scout_status(scout_id: ScoutId, viewer: StaffViewer, state: PortalStateDep) -> Response:
    """What the waiting page polls: the scout's status alone."""
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("directory_scouts_get", scout_id=scout_id)
    assert row is not None
    return JSONResponse(
        {"status": row["scout"]["status"]}, headers={"Cache-Control": "private, no-store"}
    )


@router.get("/{scout_id}/screenshots/{number}")
async def screenshot(
    scout_id: ScoutId,
    number: Annotated[int, Path(ge=0, le=99)],
    viewer: StaffViewer,
    state: PortalStateDep,
) -> Response:
    """The scout's screenshot by its number; the path comes from the scout's row only and
    must resolve inside ARTIFACTS_DIR."""
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("directory_scouts_get", scout_id=scout_id)
    assert row is not None
    shots = list(row["scout"].get("screenshots") or [])
    if number >= len(shots):
        raise NotFound(f"scout {scout_id} has no screenshot {number}")
    try:
        path = resolve(state.settings.artifacts_dir, shots[number], "screenshot")
    except ArtifactRefused as error:
        raise HTTPException(404, f"The screenshot was not kept ({error}).") from None
    return FileResponse(
        path,
        media_type="image/png",
        headers=dict(IMAGE_HEADERS),
        content_disposition_type="inline",
        filename=f"scout-{scout_id}-{number + 1}.png",
    )


@router.post("/{scout_id}/save")
async def save(
    request: Request,
    scout_id: ScoutId,
    viewer: StaffViewer,
    state: PortalStateDep,
    directory_id: Annotated[str, Form(max_length=63)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    tier: Annotated[str, Form(max_length=20)] = "",
    country: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    """Save the scout's draft as a disabled catalogue entry (staff_directory_scout_save)."""
    form = {"directory_id": directory_id, "name": name, "tier": tier, "country": country}
    try:
        async with state.db.as_viewer(viewer) as q:
            await q.fetch_one(
                "directory_scouts_save",
                scout_id=scout_id,
                directory_id=directory_id.strip(),
                directory_name=name,
                tier=tier,
                country=country,
            )
    except (InvalidArgument, InvalidTransition) as error:
        return render(
            request,
            "staff/scout_detail.html",
            status_code=422,
            section="scout",
            tiers=TIERS,
            error=str(error),
            form=form,
            **await _scout(state, viewer, scout_id),
        )
    log.info(
        "staff saved a scouted draft",
        extra={"action": "staff.scout_saved", "scout_id": scout_id, "directory_id": directory_id},
    )
    return RedirectResponse(f"/staff/scout/{scout_id}#saved", status_code=303)
