"""The staff review queue: every directory needing review (no confirmation seen, or the
customer says they did what was asked) or the customer's action, across jobs, oldest first,
read under the staff user's JWT; and the four ways to settle one, each through the
orchestrator's staff API so it is one guarded, audited transition.

Pages are keyset-paginated on (updated_at, job, directory): the cursor is the last item
shown, so a page stays right while items are settled under it."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import ValidationError

from dbolt.contracts import (
    ConfirmLiveRequest,
    DirectoryId,
    MarkFailedRequest,
    MarkSubmittedRequest,
    RetryRequest,
)
from portal.staff import artifacts
from portal.staff.orchestrator import (
    ERRORS,
    InterventionFailed,
    actor_of,
    error_text,
    post_as_staff,
)
from portal.state import PortalState
from portal.viewer import Viewer

log = logging.getLogger(__name__)

PAGE_SIZE = 50
ReviewAction = Literal["confirm-live", "mark-submitted", "mark-failed", "retry"]
REVIEW_ACTIONS: tuple[str, ...] = get_args(ReviewAction)
# What each action does, for the confirm step and the notice after it.
LABELS: dict[str, str] = {
    "confirm-live": "Confirm live",
    "mark-submitted": "Mark submitted",
    "mark-failed": "Mark failed",
    "retry": "Retry",
}
DONE: dict[str, str] = {
    "confirm-live": "confirmed live",
    "mark-submitted": "marked submitted",
    "mark-failed": "marked failed",
    "retry": "queued again",
}


class BadCursor(ValueError):
    """The `after` parameter is not a cursor this page made."""


@dataclass(frozen=True)
class Cursor:
    updated_at: datetime
    job_id: uuid.UUID
    directory_id: str

    def encode(self) -> str:
        return f"{self.updated_at.isoformat()}|{self.job_id}|{self.directory_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            moment, job, directory = text.split("|")
            cursor = cls(datetime.fromisoformat(moment), uuid.UUID(job), directory)
        except ValueError as error:
            raise BadCursor("after: not a position in the review queue") from error
        if cursor.updated_at.tzinfo is None or not 2 <= len(directory) <= 63:
            raise BadCursor("after: not a position in the review queue")
        return cursor


async def review_page(
    state: PortalState, viewer: Viewer, after: Cursor | None, limit: int = PAGE_SIZE
) -> dict[str, Any]:
    async with state.db.as_viewer(viewer) as q:
        rows = await q.fetch_all(
            "job_directories_list_for_review",
            after_at=after.updated_at if after else None,
            after_job=after.job_id if after else None,
            after_directory=after.directory_id if after else None,
            limit=limit + 1,
        )
    more = len(rows) > limit
    items = rows[:limit]
    for item in items:
        item["artifacts_kept"] = artifacts.kept(state.settings.artifacts_dir, item["artifacts"])
    last = items[-1] if items else None
    return {
        "items": items,
        "next": Cursor(last["updated_at"], last["job_id"], last["directory_id"]).encode()
        if more and last
        else None,
        "artifacts_retention_days": state.settings.artifacts_retention_days,
    }


async def review_counts(state: PortalState, viewer: Viewer) -> dict[str, int]:
    async with state.db.as_viewer(viewer) as q:
        row = await q.fetch_one("job_directories_count_for_review")
    assert row is not None
    return {"needs_review": int(row["needs_review"]), "needs_action": int(row["needs_action"])}


def request_body(
    action: ReviewAction, job_id: uuid.UUID, directory_id: str, listing_url: str, reason: str
) -> dict[str, Any]:
    """The orchestrator request for the action, checked with the same models the orchestrator
    uses; a bad field raises InterventionFailed (422) naming it, before anything is sent."""
    try:
        if action == "confirm-live":
            model: Any = ConfirmLiveRequest(listing_url=listing_url.strip())  # type: ignore[arg-type]
        elif action == "mark-submitted":
            url = listing_url.strip() or None
            model = MarkSubmittedRequest(listing_url=url)  # type: ignore[arg-type]
        elif action == "mark-failed":
            model = MarkFailedRequest(reason=reason)
        else:
            model = RetryRequest(job_id=job_id, directory_ids=[directory_id])
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "form"
        code = field if field in ERRORS else "form"
        raise InterventionFailed(error_text(code), 422, code) from None
    body: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return body


async def settle(
    state: PortalState,
    viewer: Viewer,
    action: ReviewAction,
    job_id: uuid.UUID,
    directory_id: DirectoryId,
    body: dict[str, Any],
) -> None:
    path = (
        "/jobs/retry"
        if action == "retry"
        else f"/jobs/{job_id}/directories/{directory_id}/{action}"
    )
    await post_as_staff(state, viewer, path, body, f"staff.review.{action}")
    log.info(
        "staff review",
        extra={
            "action": f"staff.review.{action}",
            "job_id": str(job_id),
            "directory_id": directory_id,
            "actor": actor_of(viewer),
        },
    )
