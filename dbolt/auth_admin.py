"""The few Supabase Auth admin calls the server side needs (service role key; never a browser).

`generate_magic_link` asks Auth for a sign-in link for an address without emailing it: Auth
creates the user when the address is new (GoTrue then makes it a `signup` link, which also
confirms the address when used), so one call both finds-or-creates the user and yields the
token hash our own email carries to the portal's `/auth/confirm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


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
    if not service_role_key:
        raise ValueError("SUPABASE_SERVICE_ROLE_KEY is required for the Auth admin API")
    body: dict[str, Any] = {"type": "magiclink", "email": email}
    if redirect_to is not None:
        body["redirect_to"] = redirect_to
    response = await http.post(
        f"{supabase_url.rstrip('/')}/auth/v1/admin/generate_link",
        json=body,
        headers={"apikey": service_role_key, "Authorization": f"Bearer {service_role_key}"},
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
