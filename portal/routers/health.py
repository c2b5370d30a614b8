"""GET /healthz: is the portal up and can it reach the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse

from dbolt.sql import DatabaseUnavailable
from portal.dependencies import PortalStateDep

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz(state: PortalStateDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        async with state.db.as_service() as q:
            await q.fetch_one("database_ping")
    except DatabaseUnavailable:
        body.update(status="degraded", database="unreachable")
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
