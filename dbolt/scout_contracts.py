"""The wire contract for scouts staff ask for from the dashboard (issue 17): a worker-side
process takes a queued scout from the orchestrator (`POST /scouts/next`) and posts what the
read-only scout found (`POST /scouts/{id}/result`). Kept apart from dbolt/contracts.py, the
job queue's contract, since the two change for different reasons."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from dbolt.contracts import Request, WorkerId

# Relative to the workers' ARTIFACTS_DIR: scouts/<id>/step-<n>.png, nothing else (the portal
# serves them to staff and resolves them inside that folder only).
ScreenshotRef = Annotated[
    str, StringConstraints(pattern=r"^scouts/[0-9]{1,19}/step-[0-9]{1,3}\.png$")
]
# A scout's report may carry a large page's whole signature.
SCOUT_RESULT_MAX_BYTES = 1024 * 1024


class ScoutClaim(Request):
    worker_id: WorkerId


class ScoutTask(BaseModel):
    """One queued scout, leased to the worker that asked."""

    scout_id: int
    url: str
    lease_token: uuid.UUID


class ScoutStatus(StrEnum):
    done = "done"
    # The page could not be loaded (connection refused, a timeout, a browser crash).
    failed = "failed"
    # The URL, or where the site sent the browser, is not one a worker may reach.
    refused = "refused"


class ScoutResult(Request):
    lease_token: uuid.UUID
    status: ScoutStatus
    # The scout's report when done (worker/scout/run.py, with the form's fields added).
    result: dict[str, Any] | None = None
    screenshots: list[ScreenshotRef] = Field(default_factory=list, max_length=20)
    # Why it failed or was refused, in words staff read.
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
