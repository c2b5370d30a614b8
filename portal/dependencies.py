"""FastAPI dependencies: the portal's state and who is asking.

Every one is `async def` although none awaits: FastAPI runs a plain `def` dependency in its
thread pool, a hand-off (and a trip through the GIL) on every request that costs more than
reading an attribute (the orchestrator measured the same with bench/orchestrator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from portal.errors import SignInRequired
from portal.state import PortalState
from portal.viewer import Viewer


async def get_state(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


async def maybe_viewer(request: Request) -> Viewer | None:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return viewer


async def signed_in(
    request: Request, viewer: Annotated[Viewer | None, Depends(maybe_viewer)]
) -> Viewer:
    if viewer is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path)
    return viewer


async def staff_viewer(viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
    if not viewer.is_staff:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This page is for DirectoryBolt staff.")
    return viewer


PortalStateDep = Annotated[PortalState, Depends(get_state)]
MaybeViewer = Annotated[Viewer | None, Depends(maybe_viewer)]
SignedIn = Annotated[Viewer, Depends(signed_in)]
StaffViewer = Annotated[Viewer, Depends(staff_viewer)]
