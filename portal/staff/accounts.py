"""Make an Auth user staff (`app_metadata.role = staff`) through the Auth admin API with the
service role key — the way it is done in production, where nothing may write `auth.users`
directly. `dbolt staff EMAIL` (and `make staff EMAIL=…`) runs this.

Create with a confirmed email when the address is new; otherwise find the user (Auth's
generate_link answers the existing user's id without emailing anyone) and merge the role
into its app_metadata. `--revoke` removes the role again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from dbolt.auth_admin import AuthAdminError, generate_magic_link
from portal.settings import PortalSettings

STAFF_ROLE = "staff"


@dataclass(frozen=True)
class StaffAccount:
    user_id: str
    email: str
    created: bool
    app_role: str | None


def _error(response: httpx.Response) -> AuthAdminError:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error_code") or body.get("code") or "unknown")
    message = str(body.get("msg") or body.get("message") or response.text[:200])
    return AuthAdminError(response.status_code, code, message)


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
    if not service_role_key:
        raise ValueError("SUPABASE_SERVICE_ROLE_KEY is required for the Auth admin API")
    auth = f"{supabase_url.rstrip('/')}/auth/v1"
    headers = {"apikey": service_role_key, "Authorization": f"Bearer {service_role_key}"}
    role: str | None = None if revoke else STAFF_ROLE
    if not revoke:
        created = await http.post(
            f"{auth}/admin/users",
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
    updated = await http.put(
        f"{auth}/admin/users/{link.user_id}", json={"app_metadata": {"role": role}}, headers=headers
    )
    if updated.status_code != 200:
        raise _error(updated)
    user = updated.json()
    return StaffAccount(str(user["id"]), email, False, user.get("app_metadata", {}).get("role"))


def run(email: str, *, revoke: bool = False) -> int:
    """The CLI: prints what happened and how to sign in."""
    settings = PortalSettings()

    async def call() -> StaffAccount:
        async with httpx.AsyncClient(timeout=10.0) as http:
            return await set_staff_role(
                http,
                settings.supabase_url,
                settings.supabase_service_role_key.get_secret_value(),
                email,
                revoke=revoke,
            )

    try:
        account = asyncio.run(call())
    except httpx.HTTPError as error:
        print(f"error: Auth at {settings.supabase_url} is unreachable: {type(error).__name__}")
        return 1
    except (AuthAdminError, ValueError) as error:
        print(f"error: {error}")
        return 1
    if revoke:
        print(f"{account.email} ({account.user_id}) is no longer staff")
        return 0
    verb = "created" if account.created else "promoted"
    print(f"{account.email} ({account.user_id}) {verb}: app_metadata.role = {account.app_role}")
    print(
        f"Sign in at {settings.portal_url}/sign-in with {account.email} (a magic link or code "
        f"is emailed), then open {settings.portal_url}/staff (a session signed in before this "
        "sees the role at its next token refresh)"
    )
    return 0
