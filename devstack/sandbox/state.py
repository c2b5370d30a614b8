"""Everything the sandbox remembers, in memory: one process, reset by the admin endpoint.

All mutation happens on the server's event loop between awaits, so no lock is needed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from devstack.sandbox.lifecycle_state import LifecycleState

SubmissionStatus = Literal["listed", "pending_verification", "received"]
FieldValue = str | list[str]

# Listed on the duplicate site before anyone submits: the sample business of supabase/seed.sql.
PRE_LISTED = ("Bluebird Bakery",)


def name_key(business_name: str) -> str:
    """Directories compare names loosely: case and spacing do not make a new business."""
    return " ".join(business_name.split()).casefold()


def _lifecycle_state() -> LifecycleState:
    # Imported here: the lifecycle state uses name_key from this module.
    from devstack.sandbox.lifecycle_state import LifecycleState

    return LifecycleState()


@dataclass(frozen=True)
class Logo:
    size: int
    content_type: str


@dataclass
class Submission:
    id: int
    site: str
    fields: dict[str, FieldValue]
    received_at: str
    via: str | None
    logo: Logo | None
    status: SubmissionStatus

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "status": self.status,
            "fields": self.fields,
            "received_at": self.received_at,
            "via": self.via,
            "logo": None
            if self.logo is None
            else {"size": self.logo.size, "content_type": self.logo.content_type},
        }


@dataclass
class SandboxState:
    submissions: list[Submission] = field(default_factory=list)
    # Business names whose first submission the flaky site has already failed.
    flaky_failed: set[str] = field(default_factory=set)
    # Business names the duplicate site already lists.
    listed_names: set[str] = field(default_factory=lambda: {name_key(n) for n in PRE_LISTED})
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Test switch (POST /_admin/hold): sites whose submit response is held back after the
    # submission was recorded, until released, and how many responses each is holding now.
    # The window where a directory has accepted a business but the worker has not heard.
    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    holding: dict[str, int] = field(default_factory=dict)
    # Test switch (POST /_admin/redesign): sites serving their "redesigned" form, the
    # business-name field renamed as the drift site's (sites/standard.py), so a canary sees
    # the form change between two runs.
    redesigned: set[str] = field(default_factory=set)
    # The lifecycle directories' accounts, listings and emails (sites/lifecycle.py).
    lifecycle: LifecycleState = field(default_factory=lambda: _lifecycle_state())

    def hold(self, site: str) -> None:
        self.holds.setdefault(site, asyncio.Event())

    def release(self, site: str | None = None) -> list[str]:
        released = [s for s in self.holds if site is None or s == site]
        for name in released:
            self.holds.pop(name).set()
        return released

    async def wait_if_held(self, site: str) -> None:
        gate = self.holds.get(site)
        if gate is None:
            return
        self.holding[site] = self.holding.get(site, 0) + 1
        try:
            await gate.wait()
        finally:
            self.holding[site] -= 1

    def record(
        self,
        site: str,
        fields: Mapping[str, FieldValue],
        *,
        via: str | None,
        logo: Logo | None = None,
        status: SubmissionStatus = "listed",
    ) -> Submission:
        submission = Submission(
            id=next(self._ids),
            site=site,
            fields=dict(fields),
            received_at=datetime.now(UTC).isoformat(),
            via=via,
            logo=logo,
            status=status,
        )
        self.submissions.append(submission)
        return submission

    def find(self, site: str, submission_id: int) -> Submission | None:
        for submission in self.submissions:
            if submission.site == site and submission.id == submission_id:
                return submission
        return None

    def reset(self) -> None:
        # Ids keep counting, so a listing URL from before the reset never points at a new one.
        self.submissions.clear()
        self.flaky_failed.clear()
        self.listed_names = {name_key(n) for n in PRE_LISTED}
        self.lifecycle.reset()
        self.redesigned.clear()
        self.release()
