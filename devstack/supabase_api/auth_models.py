"""Users as the Auth stand-in reads them from `auth.users`, and as GoTrue writes them in JSON.

The JSON is GoTrue's `models.User` marshalled: timestamps in RFC 3339, optional timestamps
left out when unset, `app_metadata` / `user_metadata` from the raw_* columns, identities
inline. supabase-py parses it into its `User` model (id, aud, app_metadata, user_metadata and
created_at are required there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]

AUDIENCE = "authenticated"
DEFAULT_ROLE = "authenticated"
DEFAULT_APP_METADATA: dict[str, Any] = {"provider": "email", "providers": ["email"]}


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # GoTrue's `timestamp without time zone` columns hold UTC.
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class User:
    id: str
    aud: str
    role: str
    email: str | None
    phone: str | None
    has_password: bool
    email_confirmed_at: datetime | None
    phone_confirmed_at: datetime | None
    confirmed_at: datetime | None
    invited_at: datetime | None
    confirmation_sent_at: datetime | None
    recovery_sent_at: datetime | None
    email_change: str | None
    email_change_sent_at: datetime | None
    last_sign_in_at: datetime | None
    app_metadata: dict[str, Any]
    user_metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime | None
    banned_until: datetime | None
    deleted_at: datetime | None
    is_anonymous: bool
    is_sso_user: bool

    @classmethod
    def from_row(cls, row: Row) -> User:
        # The password hash is read only to learn whether there is one; it goes no further.
        return cls(
            id=str(row["id"]),
            aud=row["aud"] or AUDIENCE,
            role=row["role"] or DEFAULT_ROLE,
            email=row["email"],
            phone=row["phone"],
            has_password=bool(row["encrypted_password"]),
            email_confirmed_at=row["email_confirmed_at"],
            phone_confirmed_at=row["phone_confirmed_at"],
            confirmed_at=row["confirmed_at"],
            invited_at=row["invited_at"],
            confirmation_sent_at=row["confirmation_sent_at"],
            recovery_sent_at=row["recovery_sent_at"],
            email_change=row["email_change"],
            email_change_sent_at=row["email_change_sent_at"],
            last_sign_in_at=row["last_sign_in_at"],
            app_metadata=dict(row["raw_app_meta_data"] or {}),
            user_metadata=dict(row["raw_user_meta_data"] or {}),
            created_at=row["created_at"] or datetime.now(UTC),
            updated_at=row["updated_at"],
            banned_until=row["banned_until"],
            deleted_at=row["deleted_at"],
            is_anonymous=bool(row["is_anonymous"]),
            is_sso_user=bool(row["is_sso_user"]),
        )

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None or self.phone_confirmed_at is not None

    def is_banned(self, now: datetime | None = None) -> bool:
        return self.banned_until is not None and self.banned_until > (now or datetime.now(UTC))

    def to_json(self, identities: list[Row]) -> dict[str, Any]:
        optional = {
            "email_confirmed_at": rfc3339(self.email_confirmed_at),
            "phone_confirmed_at": rfc3339(self.phone_confirmed_at),
            "confirmation_sent_at": rfc3339(self.confirmation_sent_at),
            "confirmed_at": rfc3339(self.confirmed_at),
            "invited_at": rfc3339(self.invited_at),
            "recovery_sent_at": rfc3339(self.recovery_sent_at),
            "new_email": self.email_change or None,
            "email_change_sent_at": rfc3339(self.email_change_sent_at),
            "last_sign_in_at": rfc3339(self.last_sign_in_at),
            "banned_until": rfc3339(self.banned_until),
            "deleted_at": rfc3339(self.deleted_at),
        }
        return {
            "id": self.id,
            "aud": self.aud,
            "role": self.role,
            "email": self.email or "",
            "phone": self.phone or "",
            **{key: value for key, value in optional.items() if value is not None},
            "app_metadata": self.app_metadata,
            "user_metadata": self.user_metadata,
            "identities": [identity_json(row) for row in identities],
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "is_anonymous": self.is_anonymous,
        }


def identity_json(row: Row) -> dict[str, Any]:
    return {
        "identity_id": str(row["id"]),
        "id": row["provider_id"],
        "user_id": str(row["user_id"]),
        "identity_data": row["identity_data"],
        "provider": row["provider"],
        "last_sign_in_at": rfc3339(row["last_sign_in_at"]),
        "created_at": rfc3339(row["created_at"]),
        "updated_at": rfc3339(row["updated_at"]),
        "email": row["email"],
    }
