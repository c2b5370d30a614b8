"""GoTrue's admin API (service-role key): users and generated email links.

    POST   /admin/users                create (email, password, email_confirm, app_metadata,
                                       user_metadata, role, ban_duration, id)
    GET    /admin/users?page&per_page  newest first, X-Total-Count and Link headers
    GET    /admin/users/{id}
    PUT    /admin/users/{id}           metadata merges key by key; null removes a key
    DELETE /admin/users/{id}           body {"should_soft_delete": bool}
    POST   /admin/generate_link        magiclink/signup/recovery/invite; nothing is emailed

The Stripe webhook finds or creates a buyer's user with `generate_link` (type magiclink
creates the user when the address is new) or `create_user` (422 `email_exists` when it is
not); staff are promoted with `update_user_by_id(id, {"app_metadata": {"role": "staff"}})`.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from devstack.supabase_api import auth_store as store
from devstack.supabase_api.auth_gateway import AdminClaims
from devstack.supabase_api.auth_http import (
    GoTrueRoute,
    merge_metadata,
    not_found,
    parse_params,
    read_body,
    unprocessable,
    validation_failed,
)
from devstack.supabase_api.auth_links import (
    LinkKind,
    action_link,
    redirect_target,
    store_email_token,
    validate_email,
    validate_password,
)
from devstack.supabase_api.auth_models import DEFAULT_APP_METADATA, DEFAULT_ROLE, User
from devstack.supabase_api.runtime import RuntimeDep

log = logging.getLogger(__name__)

router = APIRouter(route_class=GoTrueRoute)

_LINK_KINDS: dict[str, LinkKind] = {
    "magiclink": "magiclink",
    "signup": "signup",
    "recovery": "recovery",
    "invite": "invite",
}
DUPLICATE_EMAIL = "A user with this email address has already been registered"
DEFAULT_PER_PAGE = 50
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class AdminUserParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    password_hash: str | None = None
    email_confirm: bool = False
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    ban_duration: str | None = None


class GenerateLinkParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str | None = None
    email: str | None = None
    password: str | None = None
    new_email: str | None = None
    data: dict[str, Any] | None = None
    redirect_to: str | None = None


def parse_ban_duration(value: str) -> datetime | None:
    """GoTrue's ban_duration: a Go duration ("24h", "1h30m") from now, or "none" to lift it."""
    if value == "none":
        return None
    matches = list(_GO_DURATION.finditer(value))
    if not value or "".join(m.group(0) for m in matches) != value:
        raise validation_failed(
            f"ban_duration: invalid format for ban duration {value!r}, expected e.g. '24h'"
        )
    seconds = sum(float(m.group(1)) * _UNIT_SECONDS[m.group(2)] for m in matches)
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _check_unsupported(params: AdminUserParams) -> None:
    if params.password_hash:
        raise validation_failed(
            "password_hash: not supported by the local Auth stand-in; send password instead"
        )
    if params.phone:
        raise validation_failed("phone: phone users are not supported by the local Auth stand-in")


async def _load_user(conn: store.AsyncConn, user_id: str) -> User:
    if not store.is_uuid(user_id):
        raise not_found("validation_failed", "user_id must be an UUID")
    user = await store.user_by_id(conn, user_id, for_update=True)
    if user is None:
        raise not_found("user_not_found", "User not found")
    return user


@router.post("/admin/users")
async def create_user(request: Request, runtime: RuntimeDep, _: AdminClaims) -> Response:
    params = parse_params(AdminUserParams, await read_body(request))
    _check_unsupported(params)
    if not params.email:
        raise unprocessable(
            "validation_failed", "Cannot create a user without either an email or phone"
        )
    email = validate_email(params.email)
    if params.password is not None:
        validate_password(runtime.settings.auth, params.password)
    if params.id is not None and not store.is_uuid(params.id):
        raise validation_failed("id: must be a UUID")
    banned_until = parse_ban_duration(params.ban_duration) if params.ban_duration else None
    async with runtime.pool.connection() as conn, conn.transaction():
        if params.id is not None and await store.user_by_id(conn, params.id) is not None:
            raise unprocessable("user_already_exists", "User already registered")
        user = await store.insert_user(
            conn,
            email=email,
            password=params.password,
            confirmed=params.email_confirm,
            app_metadata=merge_metadata(DEFAULT_APP_METADATA, params.app_metadata or {}),
            user_metadata=params.user_metadata or {},
            role=params.role or DEFAULT_ROLE,
            user_id=params.id,
        )
        if user is None:
            raise unprocessable("email_exists", DUPLICATE_EMAIL)
        if params.email_confirm:
            user = await store.confirm_email(conn, user.id)
        if banned_until is not None:
            user = await store.update_user(
                conn, user.id, banned_until=banned_until, set_banned_until=True
            )
        body = await store.user_json(conn, user)
    log.info("user created", extra={"action": "auth.admin_user_created", "user_id": user.id})
    return JSONResponse(body)


def _page_number(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise validation_failed(f"Bad Pagination Parameters: {value!r} is not a positive integer")
    return number


@router.get("/admin/users")
async def list_users(
    request: Request,
    runtime: RuntimeDep,
    _: AdminClaims,
    page: str | None = None,
    per_page: str | None = None,
) -> Response:
    page_number = _page_number(page, 1)
    size = _page_number(per_page, DEFAULT_PER_PAGE)
    async with runtime.pool.connection() as conn, conn.transaction():
        total = await store.count_users(conn)
        users = [
            await store.user_json(conn, user)
            for user in await store.users_page(conn, page=page_number, per_page=size)
        ]
    base = f"{str(request.base_url).rstrip('/')}{request.url.path}"
    last = max(1, -(-total // size))
    links = []
    if page_number < last:
        links.append(f'<{base}?page={page_number + 1}&per_page={size}>; rel="next"')
    links.append(f'<{base}?page={last}&per_page={size}>; rel="last"')
    return JSONResponse(
        {"users": users, "aud": "authenticated"},
        headers={"X-Total-Count": str(total), "Link": ", ".join(links)},
    )


@router.get("/admin/users/{user_id}")
async def get_user(user_id: str, runtime: RuntimeDep, _: AdminClaims) -> Response:
    async with runtime.pool.connection() as conn, conn.transaction():
        body = await store.user_json(conn, await _load_user(conn, user_id))
    return JSONResponse(body)


async def _apply_update(
    conn: store.AsyncConn, runtime: RuntimeDep, user: User, params: AdminUserParams
) -> User:
    email = None
    if params.email is not None:
        email = validate_email(params.email)
        if email != user.email and await store.user_by_email(conn, email) is not None:
            raise unprocessable("email_exists", DUPLICATE_EMAIL)
    if params.password is not None:
        validate_password(runtime.settings.auth, params.password)
    user = await store.update_user(
        conn,
        user.id,
        email=email,
        role=params.role,
        app_metadata=(
            merge_metadata(user.app_metadata, params.app_metadata)
            if params.app_metadata is not None
            else None
        ),
        user_metadata=(
            merge_metadata(user.user_metadata, params.user_metadata)
            if params.user_metadata is not None
            else None
        ),
        password=params.password,
        banned_until=parse_ban_duration(params.ban_duration) if params.ban_duration else None,
        set_banned_until=params.ban_duration is not None,
    )
    if params.password is not None:
        # GoTrue's UpdatePassword without a session: the user signs in again everywhere.
        await store.delete_sessions_of_user(conn, user.id)
    if params.email_confirm:
        user = await store.confirm_email(conn, user.id)
    return user


@router.put("/admin/users/{user_id}")
async def update_user(
    user_id: str, request: Request, runtime: RuntimeDep, _: AdminClaims
) -> Response:
    params = parse_params(AdminUserParams, await read_body(request))
    _check_unsupported(params)
    async with runtime.pool.connection() as conn, conn.transaction():
        user = await _apply_update(conn, runtime, await _load_user(conn, user_id), params)
        body = await store.user_json(conn, user)
    changed = sorted(params.model_dump(exclude_unset=True, exclude={"password"}))
    log.info(
        "user updated by admin",
        extra={
            "action": "auth.admin_user_updated",
            "user_id": user_id,
            "changed": changed + (["password"] if params.password is not None else []),
            "app_role": user.app_metadata.get("role"),
        },
    )
    return JSONResponse(body)


@router.delete("/admin/users/{user_id}")
async def delete_user(
    user_id: str, request: Request, runtime: RuntimeDep, _: AdminClaims
) -> Response:
    soft = bool((await read_body(request)).get("should_soft_delete", False))
    async with runtime.pool.connection() as conn, conn.transaction():
        user = await _load_user(conn, user_id)
        await store.delete_user(conn, user.id, soft=soft)
    log.info(
        "user deleted",
        extra={"action": "auth.admin_user_deleted", "user_id": user_id, "soft": soft},
    )
    return JSONResponse({})


async def _user_for_link(
    conn: store.AsyncConn, runtime: RuntimeDep, params: GenerateLinkParams, email: str
) -> tuple[User, LinkKind]:
    """The user the link is for (created when GoTrue would create it) and the link's type."""
    requested = params.type
    user = await store.user_by_email(conn, email)
    if requested in ("email_change_current", "email_change_new"):
        raise validation_failed(
            f"type: {requested} links are not supported by the local Auth stand-in"
        )
    if requested not in _LINK_KINDS:
        raise validation_failed(f"Invalid email action link type requested: {requested}")
    if user is None and requested == "recovery":
        raise not_found("user_not_found", "User with this email not found")
    # GoTrue turns a magic link for an unknown address into a signup link.
    kind = "signup" if user is None and requested == "magiclink" else _LINK_KINDS[requested]
    if kind in ("signup", "invite") and user is not None:
        if user.is_confirmed:
            raise unprocessable("email_exists", DUPLICATE_EMAIL)
        if params.data:
            user = await store.update_user(
                conn, user.id, user_metadata=merge_metadata(user.user_metadata, params.data)
            )
    if user is None:
        password = params.password if requested == "signup" else None
        if requested == "signup":
            if not password:
                raise unprocessable("validation_failed", "Signup requires a valid password")
            validate_password(runtime.settings.auth, password)
        created = await store.insert_user(
            conn,
            email=email,
            password=password,
            confirmed=False,
            app_metadata=dict(DEFAULT_APP_METADATA),
            user_metadata=params.data or {},
        )
        if created is None:
            raise unprocessable("email_exists", DUPLICATE_EMAIL)
        user = created
    return user, kind


@router.post("/admin/generate_link")
async def generate_link(request: Request, runtime: RuntimeDep, _: AdminClaims) -> Response:
    params = parse_params(GenerateLinkParams, await read_body(request))
    email = validate_email(params.email)
    settings = runtime.settings.auth
    redirect = redirect_target(
        settings, request.query_params.get("redirect_to") or params.redirect_to, request
    )
    async with runtime.pool.connection() as conn, conn.transaction():
        user, kind = await _user_for_link(conn, runtime, params, email)
        token = await store_email_token(conn, settings, user, kind, pkce=False)
        reloaded = await store.user_by_id(conn, user.id)
        assert reloaded is not None
        body = await store.user_json(conn, reloaded)
    body.update(
        {
            "action_link": action_link(request, token.link_token, kind, redirect),
            "email_otp": token.code,
            "hashed_token": token.hashed_token,
            "redirect_to": redirect,
            "verification_type": kind,
        }
    )
    log.info(
        "email link generated",
        extra={"action": "auth.link_generated", "user_id": user.id, "type": kind},
    )
    return JSONResponse(body)
