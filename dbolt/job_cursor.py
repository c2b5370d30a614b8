"""The staff jobs list's keyset cursor: where a page of jobs (newest first) starts or ends.

Jobs are listed by (created_at, id), both descending; a cursor names one job by that pair, so
the next page starts right after it however many jobs arrive meanwhile, and two jobs created in
the same microsecond are still told apart by their id. It travels as an opaque, URL-safe
string (`encode`); `decode` refuses anything this module did not write with a ValueError that
names the field, so a forged or garbled cursor is the caller's 4xx, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The longest cursor encode() writes (an ISO timestamp and a UUID, base64): anything longer is
# not one, and is refused before it is decoded.
MAX_LENGTH = 120


@dataclass(frozen=True)
class JobCursor:
    created_at: datetime
    id: uuid.UUID

    @classmethod
    def of(cls, row: dict[str, Any]) -> JobCursor:
        """The cursor of a jobs_list row."""
        return cls(row["created_at"], row["id"])

    def encode(self) -> str:
        text = f"{self.created_at.isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(value: str, field: str) -> JobCursor:
    """The cursor `value` stands for; ValueError naming `field` if it is not one."""
    problem = f"{field} is not a cursor from this list's Older/Newer links"
    if not value or len(value) > MAX_LENGTH:
        raise ValueError(problem)
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        stamp, _, job_id = text.partition("|")
        created_at = datetime.fromisoformat(stamp)
        cursor = JobCursor(created_at, uuid.UUID(job_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValueError(problem) from error
    if created_at.tzinfo is None:
        raise ValueError(problem)
    return cursor


@dataclass(frozen=True)
class Page:
    """Where to read a page: older than `before` (None: from the newest), or newer than
    `after`."""

    before: JobCursor | None = None
    after: JobCursor | None = None

    def params(self) -> dict[str, Any]:
        """The keyset parameters of the jobs_list named query."""
        return {
            "newer": self.after is not None,
            "before_at": self.before.created_at if self.before else None,
            "before_id": self.before.id if self.before else None,
            "after_at": self.after.created_at if self.after else None,
            "after_id": self.after.id if self.after else None,
        }


@dataclass(frozen=True)
class Window:
    """A page of rows, newest first, and the cursors of the pages either side (None: none)."""

    rows: list[dict[str, Any]]
    older: str | None
    newer: str | None


def window(rows: list[dict[str, Any]], page: Page, limit: int) -> Window:
    """The page from jobs_list rows fetched with limit + 1 (the extra row says whether there is
    a further page in the direction read)."""
    more = len(rows) > limit
    if page.after is not None:
        # Read upwards from `after`: the extra row, if any, is the newest one; older rows exist
        # (the job `after` names is one).
        shown = rows[1:] if more else rows
        return Window(
            shown, _cursor(shown[-1]) if shown else None, _cursor(shown[0]) if more else None
        )
    shown = rows[:limit]
    return Window(
        shown,
        _cursor(shown[-1]) if more and shown else None,
        _cursor(shown[0]) if page.before is not None and shown else None,
    )


def _cursor(row: dict[str, Any]) -> str:
    return JobCursor.of(row).encode()
