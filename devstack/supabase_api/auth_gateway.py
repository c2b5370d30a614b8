"""Who is calling: the gateway's API-key check, GoTrue's bearer-token and admin checks.

In a Supabase project Kong sits in front of GoTrue and lets a request through only with a
project API key (`apikey` header or query parameter), except on the few open routes a browser
reaches by link (GET /auth/v1/verify, the JWKS). GoTrue then reads `Authorization: Bearer`:
a user's access token for /user and /logout (whose user and session must still exist), a
token whose role is `service_role` (or `supabase_admin`) for /admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from devstack import jwt_keys
from devstack.supabase_api import auth_store as store
from devstack.supabase_api.auth_http import GatewayError, bad_request, forbidden, unauthorized
from devstack.supabase_api.auth_models import Row, User
from devstack.supabase_api.auth_tokens import ClientInfo

API_KEY_ROLES = frozenset({"anon", "service_role"})
ADMIN_ROLES = frozenset({"service_role", "supabase_admin"})

# golang-jwt's wording, which GoTrue puts after "invalid JWT: unable to parse or verify
# signature, " — clients and people searching for the message find the familiar text.
_JWT_REASONS = {
    "expired": "token has invalid claims: token is expired",
    "bad_signature": "token signature is invalid: crypto/ecdsa: verification error",
    "missing_claims": "token has invalid claims: token is missing required claim",
    "malformed": "token is malformed: could not parse the token",
}


def require_api_key(request: Request) -> None:
    """Kong's key-auth: a project API key signed with the project's key, or 401."""
    key = request.headers.get("apikey") or request.query_params.get("apikey")
    if not key:
        raise GatewayError(
            "No API key found in request", "No `apikey` request header or url param was found."
        )
    try:
        role = jwt_keys.verify(key).get("role")
    except jwt_keys.TokenError:
        role = None
    if role not in API_KEY_ROLES:
        raise GatewayError(
            "Invalid API key", "Double check your Supabase `anon` or `service_role` API key."
        )


def bearer_claims(request: Request) -> dict[str, Any]:
    """The verified claims of the request's bearer token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("no_authorization", "This endpoint requires a valid Bearer token")
    try:
        return jwt_keys.verify(token.strip())
    except jwt_keys.TokenError as error:
        reason = _JWT_REASONS.get(error.code, error.message)
        raise forbidden(
            "bad_jwt", f"invalid JWT: unable to parse or verify signature, {reason}"
        ) from error


def admin_claims(request: Request) -> dict[str, Any]:
    claims = bearer_claims(request)
    if claims.get("role") not in ADMIN_ROLES:
        raise forbidden("not_admin", "User not allowed")
    return claims


Claims = Annotated[dict[str, Any], Depends(bearer_claims)]
AdminClaims = Annotated[dict[str, Any], Depends(admin_claims)]


@dataclass(frozen=True)
class Caller:
    """The signed-in user behind an access token, and the session it belongs to."""

    user: User
    session: Row | None
    claims: dict[str, Any]


async def load_caller(conn: store.AsyncConn, claims: dict[str, Any]) -> Caller:
    """GoTrue's maybeLoadUserOrSession: a token outliving its user or session is refused."""
    subject = claims.get("sub")
    if not subject:
        raise forbidden("bad_jwt", "invalid claim: missing sub claim")
    if not store.is_uuid(str(subject)):
        raise bad_request("bad_jwt", "invalid claim: sub claim must be a UUID")
    user = await store.user_by_id(conn, str(subject), for_update=True)
    if user is None:
        raise forbidden("user_not_found", "User from sub claim in JWT does not exist")
    session: Row | None = None
    session_id = claims.get("session_id")
    if session_id:
        session = await store.session_by_id(conn, str(session_id))
        if session is None:
            raise forbidden(
                "session_not_found", "Session from session_id claim in JWT does not exist"
            )
    return Caller(user=user, session=session, claims=claims)


def client_info(request: Request) -> ClientInfo:
    return ClientInfo(
        user_agent=request.headers.get("user-agent"),
        ip=request.client.host if request.client else None,
    )
