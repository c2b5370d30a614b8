"""The worker API for scouts staff asked for on the dashboard (/staff/scout): take the oldest
queued one under a lease, post what the read-only scout found. The portal never runs a
browser and workers never touch Postgres, so this is the way between them."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from psycopg.types.json import Jsonb

from dbolt.contracts import ErrorBody
from dbolt.scout_contracts import SCOUT_RESULT_MAX_BYTES, ScoutClaim, ScoutResult, ScoutTask
from orchestrator.dependencies import WORKER_RESPONSES, State, WorkerAuth

log = logging.getLogger(__name__)

# A scout's report may be larger than the usual body limit (orchestrator/app.py).
RESULT_PATH = re.compile(r"/scouts/[0-9]+/result")
RESULT_MAX_BYTES = SCOUT_RESULT_MAX_BYTES
# Long enough for one slow page and its steps; a worker that dies frees the scout after it.
LEASE_SECONDS = 300

router = APIRouter(tags=["worker"], dependencies=[WorkerAuth], responses=WORKER_RESPONSES)


@router.post(
    "/scouts/next",
    response_model=ScoutTask,
    responses={204: {"description": "No scout is waiting"}},
)
async def claim_scout(body: ScoutClaim, state: State) -> ScoutTask | Response:
    """The oldest queued scout, leased to this worker; 204 when none waits."""
    row = await state.db.fetch_one(
        "directory_scouts_next", worker_id=body.worker_id, lease_seconds=LEASE_SECONDS
    )
    if row is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    log.info(
        "scout taken",
        extra={"action": "scout.taken", "scout_id": row["scout_id"], "worker_id": body.worker_id},
    )
    return ScoutTask(scout_id=row["scout_id"], url=row["url"], lease_token=row["lease_token"])


@router.post(
    "/scouts/{scout_id}/result",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {"model": ErrorBody, "description": "No such scout"},
        409: {"model": ErrorBody, "description": "The scout's lease is not this one"},
        422: {"model": ErrorBody, "description": "A field breaks a rule (named)"},
    },
)
async def report_scout(
    scout_id: Annotated[int, Path(ge=1, le=2**63 - 1)], body: ScoutResult, state: State
) -> Response:
    """Record what the scout found (done), or why it could not (failed, refused)."""
    # The portal serves screenshots by these paths: a worker names only this scout's own.
    folder = f"scouts/{scout_id}/"
    strays = [ref for ref in body.screenshots if not ref.startswith(folder)]
    if strays:
        raise HTTPException(422, f"screenshots: {strays[0]} is not under {folder}")
    await state.db.fetch_one(
        "directory_scouts_finish",
        scout_id=scout_id,
        lease_token=body.lease_token,
        status=body.status.value,
        result=None if body.result is None else Jsonb(body.result),
        screenshots=list(body.screenshots),
        reason=body.reason,
    )
    log.info(
        "scout finished",
        extra={"action": "scout.finished", "scout_id": scout_id, "status": body.status.value},
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
