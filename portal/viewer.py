"""Who is looking: the signed-in user, from a verified Supabase Auth access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    email: str
    # app_metadata.role: only Auth's admin API can set it, so it can be trusted for staff.
    app_role: str | None
    access_token: str = field(repr=False)
    claims: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_staff(self) -> bool:
        return self.app_role == "staff"
