"""Sessions, access tokens, refresh-token rotation and PKCE, as GoTrue does them.

A sign-in (password, email code, email link, PKCE exchange) creates an `auth.sessions` row,
records how the user proved who they are (`auth.mfa_amr_claims`, the `amr` claim), and hands
out an ES256 access token plus a refresh token (`auth.refresh_tokens`). A refresh revokes the
presented token and issues its child. Presenting a revoked token is tolerated only where
GoTrue tolerates it — it is the parent of the session's live token (the client lost the last
response) or it was revoked within the reuse interval (concurrent refreshes); anything else is
treated as theft: the whole family is revoked and the request refused.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import string
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack import jwt_keys
from devstack.supabase_api import auth_store as store
from devstack.supabase_api.auth_http import GoTrueError, bad_request, forbidden, not_found
from devstack.supabase_api.auth_models import User
from devstack.supabase_api.auth_settings import AuthSettings

log = logging.getLogger(__name__)

REFRESH_TOKEN_LENGTH = 12
_REFRESH_TOKEN_ALPHABET = string.ascii_lowercase + string.digits
PKCE_PREFIX = "pkce_"


@dataclass(frozen=True)
class ClientInfo:
    """What GoTrue records about the device on the session row."""

    user_agent: str | None
    ip: str | None


@dataclass(frozen=True)
class Grant:
    """A session as GoTrue's AccessTokenResponse."""

    access_token: str
    refresh_token: str
    expires_in: int
    expires_at: int
    user: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "user": self.user,
        }


# -- secrets -------------------------------------------------------------------------------
def generate_otp(length: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


def token_hash(email: str, otp: str) -> str:
    """GoTrue's crypto.GenerateTokenHash: what a link carries and what is stored for a code."""
    return hashlib.sha224((email + otp).encode()).hexdigest()


def new_refresh_token() -> str:
    # GoTrue's v1 refresh tokens: 12 random lowercase alphanumerics, stored as they are.
    return "".join(secrets.choice(_REFRESH_TOKEN_ALPHABET) for _ in range(REFRESH_TOKEN_LENGTH))


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "plain":
        return secrets.compare_digest(verifier, challenge)
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return secrets.compare_digest(expected, challenge)


# -- access tokens and sessions ------------------------------------------------------------
async def _access_token(
    conn: store.AsyncConn, settings: AuthSettings, user: User, session: dict[str, Any]
) -> tuple[str, int]:
    issued_at = int(time.time())
    token = jwt_keys.mint_access_token(
        user.id,
        role=user.role,
        app_metadata=user.app_metadata,
        email=user.email,
        expires_in=settings.access_token_seconds,
        session_id=str(session["id"]),
        user_metadata=user.user_metadata,
        amr=await store.amr_claims(conn, str(session["id"])),
        aal=str(session["aal"] or "aal1"),
        phone=user.phone or "",
        is_anonymous=user.is_anonymous,
        issued_at=issued_at,
    )
    return token, issued_at + settings.access_token_seconds


async def _grant(
    conn: store.AsyncConn,
    settings: AuthSettings,
    user: User,
    session: dict[str, Any],
    refresh_token: str,
) -> Grant:
    access_token, expires_at = await _access_token(conn, settings, user, session)
    return Grant(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=settings.access_token_seconds,
        expires_at=expires_at,
        user=await store.user_json(conn, user),
    )


async def issue_session(
    conn: store.AsyncConn, settings: AuthSettings, user: User, method: str, client: ClientInfo
) -> Grant:
    """A new session for `user`, who has just proved who they are by `method`."""
    user = await store.mark_signed_in(conn, user.id)
    session = await store.insert_session(conn, user.id, user_agent=client.user_agent, ip=client.ip)
    await store.add_amr_claim(conn, str(session["id"]), method)
    refresh_token = new_refresh_token()
    await store.insert_refresh_token(
        conn, token=refresh_token, user_id=user.id, session_id=str(session["id"]), parent=None
    )
    log.info(
        "session issued",
        extra={
            "action": "auth.session_issued",
            "user_id": user.id,
            "session_id": str(session["id"]),
            "method": method,
        },
    )
    return await _grant(conn, settings, user, session, refresh_token)


# -- refresh -------------------------------------------------------------------------------
def _refresh_error(error_code: str, message: str) -> GoTrueError:
    # Older GoTrue answered refresh failures as OAuth errors; keep those names beside the
    # current ones so readers of either find what they look for.
    return bad_request(error_code, message, error="invalid_grant", error_description=message)


async def refresh(
    conn: store.AsyncConn, settings: AuthSettings, presented: str, client: ClientInfo
) -> Grant | None:
    """Rotate `presented`, or None when it is a revoked token reused outside every tolerance.

    None means the session's whole token family has just been revoked: the caller commits
    that and only then refuses (GoTrue's NewCommitWithError), so the revocation sticks.
    """
    token = await store.refresh_token_for_update(conn, presented)
    if token is None or token["session_id"] is None:
        raise _refresh_error(
            "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
        )
    session_id = str(token["session_id"])
    session = await store.session_by_id(conn, session_id, for_update=True)
    user = await store.user_by_id(conn, str(token["user_id"]))
    if session is None or user is None:
        raise _refresh_error(
            "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
        )
    if user.is_banned():
        raise _refresh_error("user_banned", "Invalid Refresh Token: User Banned")
    if session["not_after"] is not None and session["not_after"] < datetime.now(UTC):
        raise _refresh_error("session_expired", "Invalid Refresh Token: Session Expired")

    issued: str | None = None
    if token["revoked"]:
        active = await store.active_refresh_token(conn, session_id)
        if active is not None and active["parent"] == token["token"]:
            # The client never stored its last refresh: give it the same live token again.
            issued = str(active["token"])
        else:
            reuse_until = token["updated_at"] + timedelta(
                seconds=settings.refresh_token_reuse_interval_seconds
            )
            if datetime.now(UTC) > reuse_until:
                await store.revoke_token_family(conn, session_id)
                log.warning(
                    "revoked refresh token reused; session's tokens revoked",
                    extra={
                        "action": "auth.refresh_token_reused",
                        "user_id": user.id,
                        "session_id": session_id,
                    },
                )
                return None
    if issued is None:
        await store.revoke_refresh_token(conn, int(token["id"]))
        issued = new_refresh_token()
        await store.insert_refresh_token(
            conn, token=issued, user_id=user.id, session_id=session_id, parent=str(token["token"])
        )
        # GoTrue's GrantRefreshTokenSwap → createRefreshToken updates last_sign_in_at too.
        user = await store.mark_signed_in(conn, user.id)
    await store.touch_session(conn, session_id, user_agent=client.user_agent, ip=client.ip)
    log.info(
        "session refreshed",
        extra={"action": "auth.session_refreshed", "user_id": user.id, "session_id": session_id},
    )
    return await _grant(conn, settings, user, session, issued)


def refresh_reuse_error() -> GoTrueError:
    return _refresh_error("refresh_token_already_used", "Invalid Refresh Token: Already Used")


# -- PKCE ----------------------------------------------------------------------------------
async def exchange_auth_code(
    conn: store.AsyncConn,
    settings: AuthSettings,
    auth_code: str,
    code_verifier: str,
    client: ClientInfo,
) -> Grant:
    """GoTrue's PKCE grant: the code from the link's redirect plus the client's verifier."""
    flow = await store.flow_state_by_auth_code(conn, auth_code, settings.flow_state_seconds)
    if flow is None or flow["user_id"] is None:
        raise not_found("flow_state_not_found", "invalid flow state, no valid flow state found")
    if flow["expired"]:
        raise GoTrueError(422, "flow_state_expired", "invalid flow state, flow state has expired")
    if not pkce_matches(code_verifier, flow["code_challenge"], str(flow["code_challenge_method"])):
        raise bad_request(
            "bad_code_verifier", "code challenge does not match previously saved code verifier"
        )
    user = await store.user_by_id(conn, str(flow["user_id"]))
    if user is None:
        raise not_found("user_not_found", "User not found")
    if user.is_banned():
        raise forbidden("user_banned", "User is banned")
    grant = await issue_session(conn, settings, user, str(flow["authentication_method"]), client)
    await store.delete_flow_state(conn, flow["id"])
    return grant
