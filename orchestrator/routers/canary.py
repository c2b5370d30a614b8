"""The worker API for the canary (issue 17): the directories to dry run, and each run's
report. The database decides what a run means (directories_record_canary: the first
signature is the baseline, a changed digest or a failed step is drift, the `recipe_drift`
alert is raised once, queued jobs get a replacement); the worker only looks."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from psycopg.types.json import Jsonb

from dbolt.canary import CanaryDirectory, CanaryReport, CanaryVerdict
from dbolt.contracts import DirectoryId, ErrorBody
from orchestrator.dependencies import WORKER_RESPONSES, State, WorkerAuth

log = logging.getLogger(__name__)

router = APIRouter(tags=["canary"], dependencies=[WorkerAuth], responses=WORKER_RESPONSES)


@router.get("/canary/directories", response_model=list[CanaryDirectory])
async def canary_directories(state: State) -> list[CanaryDirectory]:
    """Every directory in use with a recipe (or the generic filler), drifted ones included."""
    rows = await state.db.fetch_all("directories_list_for_canary")
    return [CanaryDirectory.model_validate(row) for row in rows]


@router.post(
    "/canary-runs/{directory_id}",
    response_model=CanaryVerdict,
    responses={
        404: {"model": ErrorBody, "description": "No such directory"},
        422: {"model": ErrorBody, "description": "A field breaks a rule (named)"},
    },
)
async def record_canary_run(
    directory_id: Annotated[DirectoryId, Path()], body: CanaryReport, state: State
) -> CanaryVerdict:
    """Record one dry run; the answer says whether it matched, stored the baseline or drifted."""
    if body.directory_id != directory_id:
        raise HTTPException(422, "directory_id: the body names another directory than the path")
    row = await state.db.fetch_one(
        "directories_record_canary",
        directory_id=directory_id,
        signature=None if body.signature is None else Jsonb(body.signature),
        digest=body.digest,
        failed_step=body.failed_step,
        error=body.error,
    )
    assert row is not None
    verdict = CanaryVerdict.model_validate(row["result"])
    log.info(
        "canary run recorded",
        extra={
            "action": "canary.recorded",
            "directory_id": directory_id,
            "ok": verdict.ok,
            "newly_drifted": verdict.newly_drifted,
            "jobs_skipped": verdict.jobs_skipped,
        },
    )
    return verdict
