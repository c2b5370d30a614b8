"""The worker API for live checks: claim due checks of listings, report what each found.

The comparison itself (name, address, phone after normalising) is the worker's, with
dbolt/nap.py; the database decides what the result does to the directory
(listing_checks_report: live, live_mismatch, not_live at the last check)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from psycopg.types.json import Jsonb

from dbolt.contracts import ErrorBody, LiveCheckClaim, LiveCheckReport, LiveCheckTask
from orchestrator.dependencies import WORKER_RESPONSES, State, WorkerAuth

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["worker"],
    dependencies=[WorkerAuth],
    responses=WORKER_RESPONSES,
)


@router.post("/live-checks/next", response_model=list[LiveCheckTask])
async def claim_live_checks(body: LiveCheckClaim, state: State) -> list[LiveCheckTask]:
    """Due checks of listings (at most `limit`), each leased to this worker; [] when none."""
    rows = await state.db.fetch_all(
        "listing_checks_claim",
        worker_id=body.worker_id,
        batch_size=body.limit,
        lease_seconds=state.settings.live_check_lease_seconds,
    )
    return [
        LiveCheckTask(
            check_id=row["check_id"],
            lease_token=row["lease_token"],
            job_id=row["job_id"],
            directory_id=row["directory_id"],
            listing_url=row["listing_url"],
            recipe=row["recipe"] if isinstance(row["recipe"], dict) else None,
            business=row["business"],
            seq=row["seq"],
            last=row["last"],
        )
        for row in rows
    ]


@router.post(
    "/live-checks/{check_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: {"model": ErrorBody, "description": "No such check"},
        409: {
            "model": ErrorBody,
            "description": "The check's lease is lost, or it was reported with another result",
        },
        422: {"model": ErrorBody, "description": "A field breaks a rule (named)"},
    },
)
async def report_live_check(
    check_id: Annotated[int, Path(ge=1, le=2**63 - 1)], body: LiveCheckReport, state: State
) -> Response:
    """Record what one check found. Resending the same result under the same lease is fine."""
    row = await state.db.fetch_one(
        "listing_checks_report",
        check_id=check_id,
        lease_token=body.lease_token,
        result=body.result.value,
        nap_score=body.nap_score,
        mismatched_fields=list(body.mismatched_fields),
        observed=Jsonb(dict(body.observed)),
        message=body.message,
        http_status=body.http_status,
    )
    assert row is not None
    log.info(
        "live check reported",
        extra={
            "action": "listing_check.reported",
            "check_id": check_id,
            "job_id": str(row["job_id"]),
            "directory_id": row["directory_id"],
            "result": body.result.value,
        },
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
