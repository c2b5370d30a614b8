"""Passwordless sign-in: POST /otp sends the email; POST /verify and GET /verify redeem it.

POST /otp emails a link and a code. A confirmed user gets a magic link (type `magiclink`); a
new or unconfirmed one gets a confirmation (type `signup`) that signs them in as well. When
the client sent a PKCE challenge (supabase-py's default flow), the link redirects with
`?code=` for POST /token?grant_type=pkce; otherwise GET /verify puts the session in the
redirect's fragment, as GoTrue's implicit flow does. POST /verify takes the typed code (or a
link's token_hash) and answers with the session itself.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from devstack.supabase_api import auth_store as store
from devstack.supabase_api.auth_gateway import client_info
from devstack.supabase_api.auth_http import (
    GoTrueError,
    GoTrueRoute,
    bad_request,
    forbidden,
    parse_params,
    read_body,
    unprocessable,
    validation_failed,
)
from devstack.supabase_api.auth_links import (
    PKCE_METHODS,
    TOKEN_TYPES,
    LinkKind,
    action_link,
    check_send_frequency,
    consume_email_token,
    is_expired,
    pkce_method,
    redirect_target,
    store_email_token,
    validate_email,
)
from devstack.supabase_api.auth_mail import MailNotSent, send_sign_in_email
from devstack.supabase_api.auth_models import DEFAULT_APP_METADATA, User
from devstack.supabase_api.auth_tokens import PKCE_PREFIX, Grant, issue_session, token_hash
from devstack.supabase_api.runtime import RuntimeDep

log = logging.getLogger(__name__)

# Behind the gateway's API-key check.
router = APIRouter(route_class=GoTrueRoute)
# Reached by a browser following an email link: Kong lets it through without a key.
open_router = APIRouter(route_class=GoTrueRoute)

# GoTrue's oauthErrorMap: the `error` a failed link's redirect carries, by HTTP status.
_OAUTH_ERRORS = {
    400: "invalid_request",
    401: "unauthorized_client",
    403: "access_denied",
    500: "server_error",
    503: "temporarily_unavailable",
}
_PHONE_UNSUPPORTED = ("phone_provider_disabled", "Unsupported phone provider")


class OtpParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str | None = None
    phone: str | None = None
    create_user: bool = True
    data: dict[str, Any] | None = None
    channel: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None


class VerifyParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str | None = None
    token: str | None = None
    token_hash: str | None = None
    email: str | None = None
    phone: str | None = None
    redirect_to: str | None = None


# -- POST /otp -----------------------------------------------------------------------------
async def _user_for_otp(conn: store.AsyncConn, email: str, params: OtpParams) -> User:
    user = await store.user_by_email(conn, email)
    if user is not None:
        return user
    if not params.create_user:
        raise unprocessable("otp_disabled", "Signups not allowed for otp")
    created = await store.insert_user(
        conn,
        email=email,
        password=None,
        confirmed=False,
        app_metadata=dict(DEFAULT_APP_METADATA),
        user_metadata=params.data or {},
    )
    # None: a concurrent request created the same address first; use theirs.
    user = created or await store.user_by_email(conn, email)
    if user is None:
        raise GoTrueError(500, "unexpected_failure", "Database error saving new user")
    log.info("user signed up", extra={"action": "auth.user_signed_up", "user_id": user.id})
    return user


@router.post("/otp")
async def send_otp(request: Request, runtime: RuntimeDep) -> Response:
    params = parse_params(OtpParams, await read_body(request))
    if params.email and params.phone:
        raise validation_failed("Only an email address or phone number should be provided")
    if params.phone:
        raise bad_request(*_PHONE_UNSUPPORTED)
    if params.channel:
        raise validation_failed("Channel should only be specified with Phone OTP")
    if not params.email:
        raise validation_failed("One of email or phone must be set")
    email = validate_email(params.email)
    method = pkce_method(params.code_challenge, params.code_challenge_method)
    settings = runtime.settings.auth
    redirect = redirect_target(settings, request.query_params.get("redirect_to"), request)

    async with runtime.pool.connection() as conn, conn.transaction():
        user = await _user_for_otp(conn, email, params)
        kind: LinkKind = "magiclink" if user.is_confirmed else "signup"
        check_send_frequency(
            settings, user.recovery_sent_at if kind == "magiclink" else user.confirmation_sent_at
        )
        if method is not None and params.code_challenge:
            await store.insert_flow_state(
                conn,
                user_id=user.id,
                code_challenge=params.code_challenge,
                code_challenge_method=method,
                authentication_method=PKCE_METHODS[kind],
            )
        token = await store_email_token(conn, settings, user, kind, pkce=method is not None)
        link = action_link(request, token.link_token, kind, redirect)
        try:
            await send_sign_in_email(
                settings.smtp_url, email, kind, link, token.code, settings.otp_seconds
            )
        except MailNotSent as error:
            # Raised inside the transaction: the token that was never delivered is not kept.
            what = "magic link" if kind == "magiclink" else "confirmation"
            raise GoTrueError(500, "unexpected_failure", f"Error sending {what} email") from error
    log.info(
        "sign-in email sent",
        extra={"action": "auth.otp_sent", "user_id": user.id, "type": kind, "pkce": bool(method)},
    )
    return JSONResponse({})


# -- POST /verify --------------------------------------------------------------------------
def _check_verify_type(verification_type: str | None) -> str:
    if not verification_type:
        raise validation_failed("Verify requires a verification type")
    if verification_type in ("sms", "phone_change"):
        raise bad_request(*_PHONE_UNSUPPORTED)
    if verification_type not in TOKEN_TYPES:
        raise validation_failed(
            f"type: unsupported verification type {verification_type!r}, expected one of "
            + ", ".join(TOKEN_TYPES)
        )
    return verification_type


async def _verified_user(conn: store.AsyncConn, runtime: RuntimeDep, params: VerifyParams) -> User:
    settings = runtime.settings.auth
    token_types = TOKEN_TYPES[str(params.type)]
    if params.token:
        email = validate_email(params.email)
        user = await store.user_by_email(conn, email)
        match = (
            await store.one_time_token_for_user(
                conn, user.id, token_hash(email, params.token.strip()), token_types
            )
            if user is not None
            else None
        )
        expired_message = "Token has expired or is invalid"
    else:
        match = await store.one_time_token_by_hash(conn, str(params.token_hash), token_types)
        user = (
            await store.user_by_id(conn, str(match["user_id"]), for_update=True)
            if match is not None
            else None
        )
        expired_message = "Email link is invalid or has expired"
    if user is None or match is None or is_expired(settings, match["sent_at"]):
        raise forbidden("otp_expired", expired_message)
    if user.is_banned():
        raise forbidden("user_banned", "User is banned")
    return await consume_email_token(conn, user, str(match["token_type"]))


@router.post("/verify")
async def verify_code(request: Request, runtime: RuntimeDep) -> Response:
    params = parse_params(VerifyParams, await read_body(request))
    _check_verify_type(params.type)
    if bool(params.token) == bool(params.token_hash):
        raise validation_failed("Verify requires either a token or a token hash")
    if params.token and params.phone and not params.email:
        raise bad_request(*_PHONE_UNSUPPORTED)
    if params.token and not params.email:
        raise validation_failed(
            "Only an email address or phone number should be provided on verify"
        )
    if params.token_hash and (params.email or params.phone or params.redirect_to):
        raise validation_failed("Only the token_hash and type should be provided")

    async with runtime.pool.connection() as conn, conn.transaction():
        user = await _verified_user(conn, runtime, params)
        grant = await issue_session(conn, runtime.settings.auth, user, "otp", client_info(request))
    return JSONResponse(grant.to_json())


# -- GET /verify ---------------------------------------------------------------------------
def _error_redirect(redirect: str, error: GoTrueError, pkce: bool) -> str:
    parts = urlsplit(redirect)
    details = {}
    if error.status in _OAUTH_ERRORS:
        details["error"] = _OAUTH_ERRORS[error.status]
    details["error_code"] = error.error_code
    details["error_description"] = error.message
    query = parts.query
    if pkce:
        # GoTrue repeats the error in the query for PKCE, where a server reads the callback.
        query = urlencode([*parse_qsl(parts.query), *details.items()])
    return urlunsplit(parts._replace(query=query, fragment=urlencode(details)))


def _session_redirect(redirect: str, grant: Grant, verification_type: str) -> str:
    fragment = {
        "access_token": grant.access_token,
        "expires_at": str(grant.expires_at),
        "expires_in": str(grant.expires_in),
        "refresh_token": grant.refresh_token,
        "token_type": "bearer",
        "type": verification_type,
    }
    return f"{redirect}#{urlencode(fragment)}"


def _code_redirect(redirect: str, code: str) -> str:
    parts = urlsplit(redirect)
    query = urlencode([*parse_qsl(parts.query), ("code", code)])
    return urlunsplit(parts._replace(query=query))


async def _redeem_link(
    request: Request, runtime: RuntimeDep, token: str, verification_type: str, redirect: str
) -> str:
    """The URL to send the browser to: the session (implicit), a code (PKCE), or an error."""
    pkce = token.startswith(PKCE_PREFIX)
    settings = runtime.settings.auth
    try:
        async with runtime.pool.connection() as conn, conn.transaction():
            if verification_type not in TOKEN_TYPES:
                raise validation_failed("Invalid email verification type")
            match = await store.one_time_token_by_hash(conn, token, TOKEN_TYPES[verification_type])
            if match is None or is_expired(settings, match["sent_at"]):
                raise forbidden("otp_expired", "Email link is invalid or has expired")
            user = await store.user_by_id(conn, str(match["user_id"]), for_update=True)
            if user is None:
                raise forbidden("otp_expired", "Email link is invalid or has expired")
            if user.is_banned():
                raise forbidden("user_banned", "User is banned")
            user = await consume_email_token(conn, user, str(match["token_type"]))
            if pkce:
                code = await store.issue_auth_code(conn, user.id, PKCE_METHODS[verification_type])
                if code is None:
                    raise bad_request(
                        "flow_state_not_found",
                        "No associated flow state found. No valid flow state found for user.",
                    )
                return _code_redirect(redirect, code)
            grant = await issue_session(conn, settings, user, "otp", client_info(request))
            return _session_redirect(redirect, grant, verification_type)
    except GoTrueError as error:
        log.info(
            "email link refused",
            extra={"action": "auth.link_refused", "error_code": error.error_code},
        )
        return _error_redirect(redirect, error, pkce)


@open_router.get("/verify")
async def verify_link(
    request: Request,
    runtime: RuntimeDep,
    token: str = "",
    type: str = "",
    redirect_to: str | None = None,
) -> Response:
    redirect = redirect_target(runtime.settings.auth, redirect_to, request)
    if not type:
        raise validation_failed("Verify requires a verification type")
    if not token:
        raise validation_failed("Verify requires a token or a token hash")
    if token.startswith(PKCE_PREFIX) and type not in PKCE_METHODS:
        raise validation_failed(f"type: unsupported authentication method {type!r}")
    return RedirectResponse(
        await _redeem_link(request, runtime, token, type, redirect), status_code=303
    )
