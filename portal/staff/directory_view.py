"""Which of a job's directories its drill-down shows: one state (or all) and one page, from the
URL (?state=failed&page=2), so a staff member can share exactly what they are looking at.

A job may have 500 directories; the page shows PAGE_SIZE at a time, with their attempts and
audit entries. A bad value does not fail the page: it is shown unfiltered (first page) with a
note saying what was not understood, and answers 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends

PAGE_SIZE = 20
PAGE_MAX = 100_000
# job_directory_status, plus `cancelled` (skipped because the job was cancelled), in the order
# the chips show them: work still to do, delivered, waiting on someone, not delivered.
STATES: tuple[str, ...] = (
    "queued",
    "in_progress",
    "waiting",
    "submitted",
    "live",
    "already_listed",
    "live_mismatch",
    "needs_review",
    "needs_action",
    "failed",
    "not_live",
    "skipped",
    "cancelled",
)


@dataclass(frozen=True)
class DirectoryView:
    state: str | None = None
    page: int = 1
    problem: str | None = None

    def query(self, **overrides: Any) -> str:
        """This view as a query string, with `overrides` (state=…, page=…) applied."""
        values: dict[str, Any] = {"state": self.state, "page": self.page, **overrides}
        return urlencode(
            {k: v for k, v in values.items() if v not in (None, "") and (k, v) != ("page", 1)}
        )


async def directory_view(state: str = "", page: str = "") -> DirectoryView:
    """The ?state= and ?page= query parameters of a job's drill-down."""
    problems = []
    chosen: str | None = state.strip() or None
    if chosen is not None and chosen not in STATES:
        problems.append(f"state must be one of: {', '.join(STATES)}")
        chosen = None
    number = 1
    text = page.strip()
    if text:
        if text.isdigit() and 1 <= int(text) <= PAGE_MAX:
            number = int(text)
        else:
            problems.append("page must be a whole number from 1")
    return DirectoryView(chosen, number, "; ".join(problems) or None)


DirectoryViewDep = Annotated[DirectoryView, Depends(directory_view)]
