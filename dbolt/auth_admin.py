"""The few Supabase Auth admin calls the server side needs (service role key; never a browser).

`generate_magic_link` asks Auth for a sign-in link for an address without emailing it: Auth
creates the user when the address is new (GoTrue then makes it a `signup` link, which also
confirms the address when used), so one call both finds-or-creates the user and yields the
token hash our own email carries to the portal's `/auth/confirm`.

`set_staff_role` makes an Auth user staff (`app_metadata.role = staff`) the way it is done in
production, where nothing may write `auth.users` directly: create the user with a confirmed
email when the address is new; otherwise find it (generate_link answers the existing user's id
without emailing anyone) and merge the role into its app_metadata. With `revoke` the role is
taken away again. `dbolt staff EMAIL [--revoke]` (and `make staff EMAIL=…`) runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

STAFF_ROLE = "staff"


class AuthAdminError(Exception):
    """Auth refused or failed the call; `status` and `code` are Auth's own."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Auth admin API answered {status} {code}: {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class MagicLink:
    user_id: str
    email: str
    # What /auth/v1/verify takes as token_hash (POST, or the portal's /auth/confirm).
    hashed_token: str
    # Auth's own verify URL (GET), for callers that do not route through the portal.
    action_link: str
    # "magiclink" for an existing user, "signup" when Auth just created the user: the type
    # to verify the token hash with.
    verification_type: str = "magiclink"


@dataclass(frozen=True)
class StaffAccount:
    user_id: str
    email: str
    created: bool
    app_role: str | None


def _headers(service_role_key: str) -> dict[str, str]:
    if not service_role_key:
        raise ValueError("SUPABASE_SERVICE_ROLE_KEY is required for the Auth admin API")
    return {"apikey": service_role_key, "Authorization": f"Bearer {service_role_key}"}


def _admin_url(supabase_url: str) -> str:
    return f"{supabase_url.rstrip('/')}/auth/v1/admin"


def _error(response: httpx.Response) -> AuthAdminError:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error_code") or body.get("code") or body.get("error") or "unknown")
    message = str(body.get("msg") or body.get("message") or body.get("error_description") or "")
    return AuthAdminError(response.status_code, code, message or response.text[:200])


async def generate_magic_link(
    http: httpx.AsyncClient,
    supabase_url: str,
    service_role_key: str,
    email: str,
    redirect_to: str | None = None,
) -> MagicLink:
    """POST {supabase_url}/auth/v1/admin/generate_link (type magiclink) for `email`."""
    headers = _headers(service_role_key)
    body: dict[str, Any] = {"type": "magiclink", "email": email}
    if redirect_to is not None:
        body["redirect_to"] = redirect_to
    response = await http.post(
        f"{_admin_url(supabase_url)}/generate_link", json=body, headers=headers
    )
    if response.status_code != 200:
        raise _error(response)
    data = response.json()
    try:
        return MagicLink(
            user_id=str(data["id"]),
            email=str(data["email"]),
            hashed_token=str(data["hashed_token"]),
            action_link=str(data["action_link"]),
            verification_type=str(data.get("verification_type") or "magiclink"),
        )
    except (KeyError, TypeError) as error:
        raise AuthAdminError(response.status_code, "bad_response", f"missing {error}") from None


def _check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(ch.isspace() for ch in email):
        raise ValueError(f"EMAIL: {email!r} is not an email address")
    return email


async def set_staff_role(
    http: httpx.AsyncClient,
    supabase_url: str,
    service_role_key: str,
    email: str,
    *,
    revoke: bool = False,
) -> StaffAccount:
    """Create or promote `email` to staff (or, with revoke, take the role away)."""
    email = _check_email(email)
    headers = _headers(service_role_key)
    users = f"{_admin_url(supabase_url)}/users"
    if not revoke:
        created = await http.post(
            users,
            json={"email": email, "email_confirm": True, "app_metadata": {"role": STAFF_ROLE}},
            headers=headers,
        )
        if created.status_code == 200:
            user = created.json()
            return StaffAccount(str(user["id"]), email, True, user["app_metadata"].get("role"))
        error = _error(created)
        if error.code != "email_exists":
            raise error
    # An existing user: generate_link names its id without sending anything.
    link = await generate_magic_link(http, supabase_url, service_role_key, email)
    # In app_metadata updates a null value removes the key (GoTrue merges key by key).
    role: str | None = None if revoke else STAFF_ROLE
    updated = await http.put(
        f"{users}/{link.user_id}", json={"app_metadata": {"role": role}}, headers=headers
    )
    if updated.status_code != 200:
        raise _error(updated)
    user = updated.json()
    return StaffAccount(str(user["id"]), email, False, user.get("app_metadata", {}).get("role"))
