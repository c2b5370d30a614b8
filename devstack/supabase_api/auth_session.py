"""A signed-in user's endpoints: POST /token (password, refresh_token, pkce), GET and PUT /user,
POST /logout — GoTrue's paths, parameters and answers, as supabase-py calls them."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from devstack.supabase_api import auth_store as store
from devstack.supabase_api.auth_gateway import Claims, client_info, load_caller
from devstack.supabase_api.auth_http import (
    GoTrueRoute,
    bad_request,
    merge_metadata,
    parse_params,
    read_body,
    unprocessable,
    validation_failed,
)
from devstack.supabase_api.auth_links import validate_email, validate_password
from devstack.supabase_api.auth_tokens import (
    exchange_auth_code,
    issue_session,
    refresh,
    refresh_reuse_error,
)
from devstack.supabase_api.runtime import RuntimeDep

log = logging.getLogger(__name__)

router = APIRouter(route_class=GoTrueRoute)


class PasswordGrantParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str | None = None
    phone: str | None = None
    password: str | None = None


class PkceGrantParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    auth_code: str | None = None
    code_verifier: str | None = None


class UserUpdateParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    data: dict[str, Any] | None = None


async def _password_grant(request: Request, runtime: RuntimeDep, body: dict[str, Any]) -> Response:
    params = parse_params(PasswordGrantParams, body)
    if params.phone and not params.email:
        raise bad_request("phone_provider_disabled", "Unsupported phone provider")
    email = validate_email(params.email)
    if not params.password:
        raise validation_failed("password: a password is required")
    async with runtime.pool.connection() as conn, conn.transaction():
        user = await store.user_by_email(conn, email)
        if user is None or not await store.password_matches(conn, user.id, params.password):
            log.info("password sign-in refused", extra={"action": "auth.password_refused"})
            raise bad_request("invalid_credentials", "Invalid login credentials")
        if user.is_banned():
            raise bad_request("user_banned", "User is banned")
        if not user.is_confirmed:
            raise bad_request("email_not_confirmed", "Email not confirmed")
        grant = await issue_session(
            conn, runtime.settings.auth, user, "password", client_info(request)
        )
    return JSONResponse(grant.to_json())


async def _refresh_grant(request: Request, runtime: RuntimeDep, body: dict[str, Any]) -> Response:
    presented = body.get("refresh_token")
    if not isinstance(presented, str) or not presented:
        raise bad_request(
            "validation_failed",
            "refresh_token required",
            error="invalid_request",
            error_description="refresh_token required",
        )
    async with runtime.pool.connection() as conn, conn.transaction():
        grant = await refresh(conn, runtime.settings.auth, presented, client_info(request))
    if grant is None:
        # Refused only now, after the family's revocation committed.
        raise refresh_reuse_error()
    return JSONResponse(grant.to_json())


async def _pkce_grant(request: Request, runtime: RuntimeDep, body: dict[str, Any]) -> Response:
    params = parse_params(PkceGrantParams, body)
    if not params.auth_code or not params.code_verifier:
        raise validation_failed(
            "invalid request: both auth code and code verifier should be non-empty"
        )
    async with runtime.pool.connection() as conn, conn.transaction():
        grant = await exchange_auth_code(
            conn,
            runtime.settings.auth,
            params.auth_code,
            params.code_verifier,
            client_info(request),
        )
    return JSONResponse(grant.to_json())


@router.post("/token")
async def token(request: Request, runtime: RuntimeDep, grant_type: str = "") -> Response:
    body = await read_body(request)
    if grant_type == "password":
        return await _password_grant(request, runtime, body)
    if grant_type == "refresh_token":
        return await _refresh_grant(request, runtime, body)
    if grant_type == "pkce":
        return await _pkce_grant(request, runtime, body)
    raise bad_request("invalid_credentials", "unsupported_grant_type")


@router.get("/user")
async def get_user(runtime: RuntimeDep, claims: Claims) -> Response:
    async with runtime.pool.connection() as conn, conn.transaction():
        caller = await load_caller(conn, claims)
        body = await store.user_json(conn, caller.user)
    return JSONResponse(body)


@router.put("/user")
async def update_user(request: Request, runtime: RuntimeDep, claims: Claims) -> Response:
    params = parse_params(UserUpdateParams, await read_body(request))
    settings = runtime.settings.auth
    if params.phone:
        raise bad_request("phone_provider_disabled", "Unsupported phone provider")
    if params.password is not None:
        validate_password(settings, params.password)
    async with runtime.pool.connection() as conn, conn.transaction():
        caller = await load_caller(conn, claims)
        user = caller.user
        if params.email and params.email.lower() != (user.email or ""):
            raise validation_failed(
                "email: changing the email address is not supported by the local Auth stand-in"
            )
        if params.password is not None and await store.password_matches(
            conn, user.id, params.password
        ):
            raise unprocessable(
                "same_password", "New password should be different from the old password."
            )
        user = await store.update_user(
            conn,
            user.id,
            user_metadata=(
                merge_metadata(user.user_metadata, params.data) if params.data is not None else None
            ),
            password=params.password,
        )
        if params.password is not None:
            # GoTrue's UpdatePassword: every other device must sign in again.
            keep = str(caller.session["id"]) if caller.session else None
            await store.delete_sessions_of_user(conn, user.id, keep=keep)
        body = await store.user_json(conn, user)
    changed = [name for name in ("data", "password") if getattr(params, name) is not None]
    log.info(
        "user updated",
        extra={"action": "auth.user_updated", "user_id": user.id, "changed": changed},
    )
    return JSONResponse(body)


@router.post("/logout")
async def logout(runtime: RuntimeDep, claims: Claims, scope: str = "global") -> Response:
    if scope not in ("global", "local", "others"):
        raise validation_failed(f"scope: unsupported logout scope {scope!r}")
    async with runtime.pool.connection() as conn, conn.transaction():
        caller = await load_caller(conn, claims)
        session_id = str(caller.session["id"]) if caller.session else None
        if session_id is None or scope == "global":
            # A token without a session can only be logged out everywhere, as in GoTrue.
            await store.delete_sessions_of_user(conn, caller.user.id)
        elif scope == "local":
            await store.delete_session(conn, session_id)
        else:
            await store.delete_sessions_of_user(conn, caller.user.id, keep=session_id)
    log.info(
        "signed out",
        extra={"action": "auth.signed_out", "user_id": caller.user.id, "scope": scope},
    )
    return Response(status_code=204)
