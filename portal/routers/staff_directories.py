"""Directory health under /staff/directories: per directory its last canary, baseline
signature age, success over 7 and 30 days, median attempt time, captcha rate and drift
history (portal.staff.directory_health), with re-verify, enable and disable; and each
directory's own page (/staff/directories/<id>): its recipe, the diff of steps against the
recipe the last sync replaced, its latest canary runs. Each action is
a POST (the Origin check in portal.middleware refuses other sites' pages) running a staff
SQL function under the staff user's JWT, audited with their identity. Staff only.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dbolt.contracts import DirectoryId
from dbolt.sql import InvalidTransition
from portal.dependencies import PortalStateDep, StaffViewer
from portal.staff import directory_detail, directory_health
from portal.templating import render

log = logging.getLogger(__name__)

router = APIRouter(prefix="/staff/directories", tags=["staff"])

Directory = Annotated[DirectoryId, Path(description="The directory's id")]
# The detail page's canary history: the latest runs, enough to see a pattern.
CANARY_RUNS = 10
_DIRECTORY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")  # dbolt.contracts.DirectoryId


def _notice(request: Request) -> dict[str, str] | None:
    """Fixed words chosen by a code in the URL, never the URL's own text."""
    done = request.query_params.get("done", "")
    if done not in directory_health.DONE:
        return None
    directory = request.query_params.get("directory", "")
    who = f"{directory}: " if _DIRECTORY_ID.fullmatch(directory) else ""
    return {"kind": "success", "text": f"{who}{directory_health.DONE[done]}."}


async def _page(
    request: Request,
    viewer: StaffViewer,
    state: PortalStateDep,
    notice: dict[str, str] | None,
    status_code: int = 200,
) -> Response:
    async with state.db.as_viewer(viewer) as q:
        rows = await q.fetch_all("directories_list_health")
    return render(
        request,
        "staff/directories.html",
        status_code=status_code,
        section="directories",
        notice=notice,
        **directory_health.page(rows, datetime.now(UTC)),
    )


@router.get("")
async def health(request: Request, viewer: StaffViewer, state: PortalStateDep) -> Response:
    return await _page(request, viewer, state, _notice(request))


@router.post("/{directory_id}/{action}")
async def act(
    request: Request,
    directory_id: Directory,
    action: directory_health.Action,
    viewer: StaffViewer,
    state: PortalStateDep,
    seen_canary_at: Annotated[datetime | None, Form()] = None,
) -> Response:
    """seen_canary_at: the latest canary run the page showed (re-verify adopts that one and is
    refused if a later run came in since)."""
    try:
        async with state.db.as_viewer(viewer) as q:
            if action == "reverify":
                await q.fetch_one(
                    "directories_reverify",
                    directory_id=directory_id,
                    seen_canary_at=seen_canary_at,
                )
            else:
                await q.fetch_one(
                    "directories_set_enabled", directory_id=directory_id, enabled=action == "enable"
                )
    except InvalidTransition as refused:
        # A canary run came in since the page was loaded: the page again, showing it, and why.
        notice = {"kind": "error", "text": str(refused)}
        return await _page(request, viewer, state, notice, status_code=409)
    log.info(
        "staff changed a directory",
        extra={"action": f"staff.directory_{action}", "directory_id": directory_id},
    )
    query = urlencode({"done": action, "directory": directory_id})
    return RedirectResponse(f"/staff/directories?{query}#dir-{directory_id}", status_code=303)


@router.get("/{directory_id}")
async def detail(
    request: Request, directory_id: Directory, viewer: StaffViewer, state: PortalStateDep
) -> Response:
    """One directory: its recipe's steps, the diff against the recipe the last sync
    replaced, its latest canary runs, and its directories.json entry."""
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one(
            "directories_get_detail", directory_id=directory_id, canary_runs=CANARY_RUNS
        )
    assert row is not None
    return render(
        request,
        "staff/directory.html",
        section="directories",
        **directory_detail.page(row["detail"]),
    )
