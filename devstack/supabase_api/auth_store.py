"""The Auth stand-in's storage: named queries from auth_queries.sql on GoTrue's own tables.

Every function takes the caller's connection, so a route decides the transaction: a token is
never written without the email that carries it, nor a session without its refresh token.
"""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from dbolt.sql.gateway import parse_blocks
from devstack.supabase_api.auth_models import AUDIENCE, DEFAULT_ROLE, Row, User

QUERIES_PATH = Path(__file__).with_name("auth_queries.sql")

AsyncConn = psycopg.AsyncConnection[Any]


@functools.cache
def queries() -> Queries:
    return Queries(parse_blocks(QUERIES_PATH.read_text(), str(QUERIES_PATH)))


async def _one(conn: AsyncConn, name: str, **params: Any) -> Row | None:
    return await queries().afetch_one(conn, name, **params)


async def _all(conn: AsyncConn, name: str, **params: Any) -> list[Row]:
    return await queries().afetch_all(conn, name, **params)


def _user(row: Row | None) -> User | None:
    return User.from_row(row) if row is not None else None


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# -- users ---------------------------------------------------------------------------------
async def user_by_id(conn: AsyncConn, user_id: str, *, for_update: bool = False) -> User | None:
    if not is_uuid(user_id):
        return None
    name = "users_get_by_id_for_update" if for_update else "users_get_by_id"
    return _user(await _one(conn, name, id=user_id))


async def user_by_email(conn: AsyncConn, email: str) -> User | None:
    """The user with this address, locked until the transaction ends."""
    return _user(await _one(conn, "users_get_by_email", email=email, aud=AUDIENCE))


async def insert_user(
    conn: AsyncConn,
    *,
    email: str,
    password: str | None,
    confirmed: bool,
    app_metadata: dict[str, Any],
    user_metadata: dict[str, Any],
    role: str = DEFAULT_ROLE,
    user_id: str | None = None,
    invited: bool = False,
) -> User | None:
    """The new user with its email identity, or None when the address (or id) is taken."""
    row = await _one(
        conn,
        "users_insert",
        id=user_id or str(uuid.uuid4()),
        aud=AUDIENCE,
        role=role,
        email=email,
        password=password,
        confirmed=confirmed,
        invited=invited,
        app_metadata=Jsonb(app_metadata),
        user_metadata=Jsonb(user_metadata),
    )
    if row is None:
        return None
    user = User.from_row(row)
    await _all(conn, "identities_insert_email", user_id=user.id, email=email, verified=confirmed)
    return user


async def update_user(
    conn: AsyncConn,
    user_id: str,
    *,
    email: str | None = None,
    role: str | None = None,
    app_metadata: dict[str, Any] | None = None,
    user_metadata: dict[str, Any] | None = None,
    password: str | None = None,
    banned_until: Any = None,
    set_banned_until: bool = False,
) -> User:
    row = await _one(
        conn,
        "users_update",
        id=user_id,
        email=email,
        role=role,
        app_metadata=Jsonb(app_metadata) if app_metadata is not None else None,
        user_metadata=Jsonb(user_metadata) if user_metadata is not None else None,
        password=password,
        banned_until=banned_until,
        set_banned_until=set_banned_until,
    )
    assert row is not None, f"user {user_id} vanished inside its own transaction"
    return User.from_row(row)


async def password_matches(conn: AsyncConn, user_id: str, password: str) -> bool:
    row = await _one(conn, "users_password_matches", id=user_id, password=password)
    return bool(row and row["matches"])


async def confirm_email(conn: AsyncConn, user_id: str) -> User:
    """GoTrue's User.Confirm: confirmed, email_verified recorded, every pending token spent."""
    row = await _one(conn, "users_confirm_email", id=user_id)
    assert row is not None
    await _all(conn, "identities_email_verified", user_id=user_id)
    await _all(conn, "one_time_tokens_clear_for_user", user_id=user_id)
    return User.from_row(row)


async def spend_recovery_token(conn: AsyncConn, user_id: str) -> User:
    """GoTrue's User.Recover: the link or code was used, so none of the user's tokens lives on."""
    row = await _one(conn, "users_clear_recovery_token", id=user_id)
    assert row is not None
    await _all(conn, "one_time_tokens_clear_for_user", user_id=user_id)
    return User.from_row(row)


async def mark_signed_in(conn: AsyncConn, user_id: str) -> User:
    row = await _one(conn, "users_signed_in", id=user_id)
    assert row is not None
    return User.from_row(row)


async def count_users(conn: AsyncConn) -> int:
    row = await _one(conn, "users_count", aud=AUDIENCE)
    return int(row["total"]) if row else 0


async def users_page(conn: AsyncConn, *, page: int, per_page: int) -> list[User]:
    rows = await _all(
        conn, "users_page", aud=AUDIENCE, limit=per_page, offset=(page - 1) * per_page
    )
    return [User.from_row(row) for row in rows]


async def delete_user(conn: AsyncConn, user_id: str, *, soft: bool) -> None:
    if soft:
        await _all(conn, "sessions_delete_for_user", user_id=user_id)
        await _all(conn, "identities_delete_for_user", user_id=user_id)
        await _all(conn, "one_time_tokens_clear_for_user", user_id=user_id)
        await _all(conn, "users_soft_delete", id=user_id)
    else:
        await _all(conn, "users_delete", id=user_id)


async def identities(conn: AsyncConn, user_id: str) -> list[Row]:
    return await _all(conn, "identities_for_user", user_id=user_id)


async def user_json(conn: AsyncConn, user: User) -> dict[str, Any]:
    return user.to_json(await identities(conn, user.id))


# -- sessions, amr claims, refresh tokens --------------------------------------------------
async def insert_session(
    conn: AsyncConn, user_id: str, *, user_agent: str | None, ip: str | None
) -> Row:
    row = await _one(conn, "sessions_insert", user_id=user_id, user_agent=user_agent, ip=ip)
    assert row is not None
    return row


async def session_by_id(
    conn: AsyncConn, session_id: str, *, for_update: bool = False
) -> Row | None:
    if not is_uuid(session_id):
        return None
    name = "sessions_get_for_update" if for_update else "sessions_get"
    return await _one(conn, name, id=session_id)


async def touch_session(
    conn: AsyncConn, session_id: str, *, user_agent: str | None, ip: str | None
) -> None:
    await _all(conn, "sessions_touch", id=session_id, user_agent=user_agent, ip=ip)


async def delete_session(conn: AsyncConn, session_id: str) -> None:
    await _all(conn, "sessions_delete", id=session_id)


async def delete_sessions_of_user(
    conn: AsyncConn, user_id: str, *, keep: str | None = None
) -> None:
    if keep is None:
        await _all(conn, "sessions_delete_for_user", user_id=user_id)
    else:
        await _all(conn, "sessions_delete_others", user_id=user_id, keep=keep)


async def add_amr_claim(conn: AsyncConn, session_id: str, method: str) -> None:
    await _all(conn, "amr_claims_add", session_id=session_id, method=method)


async def amr_claims(conn: AsyncConn, session_id: str) -> list[dict[str, Any]]:
    rows = await _all(conn, "amr_claims_for_session", session_id=session_id)
    return [{"method": row["method"], "timestamp": int(row["timestamp"])} for row in rows]


async def insert_refresh_token(
    conn: AsyncConn, *, token: str, user_id: str, session_id: str, parent: str | None
) -> Row:
    row = await _one(
        conn,
        "refresh_tokens_insert",
        token=token,
        user_id=user_id,
        session_id=session_id,
        parent=parent,
    )
    assert row is not None
    return row


async def refresh_token_for_update(conn: AsyncConn, token: str) -> Row | None:
    return await _one(conn, "refresh_tokens_get_for_update", token=token)


async def active_refresh_token(conn: AsyncConn, session_id: str) -> Row | None:
    return await _one(conn, "refresh_tokens_active_for_session", session_id=session_id)


async def revoke_refresh_token(conn: AsyncConn, token_id: int) -> None:
    await _all(conn, "refresh_tokens_revoke", id=token_id)


async def revoke_token_family(conn: AsyncConn, session_id: str) -> None:
    await _all(conn, "refresh_tokens_revoke_session", session_id=session_id)


# -- one-time tokens -----------------------------------------------------------------------
async def set_confirmation_token(
    conn: AsyncConn, user: User, token_hash: str, *, invited: bool = False
) -> None:
    await _all(
        conn, "users_set_confirmation_token", id=user.id, token_hash=token_hash, invited=invited
    )
    await _replace_one_time_token(conn, user, "confirmation_token", token_hash)


async def set_recovery_token(conn: AsyncConn, user: User, token_hash: str) -> None:
    await _all(conn, "users_set_recovery_token", id=user.id, token_hash=token_hash)
    await _replace_one_time_token(conn, user, "recovery_token", token_hash)


async def _replace_one_time_token(
    conn: AsyncConn, user: User, token_type: str, token_hash: str
) -> None:
    await _all(
        conn,
        "one_time_tokens_replace",
        user_id=user.id,
        token_type=token_type,
        token_hash=token_hash,
        relates_to=user.email or "",
    )


async def one_time_token_by_hash(
    conn: AsyncConn, token_hash: str, token_types: list[str]
) -> Row | None:
    return await _one(
        conn, "one_time_tokens_find_by_hash", token_hash=token_hash, token_types=token_types
    )


async def one_time_token_for_user(
    conn: AsyncConn, user_id: str, token_hash: str, token_types: list[str]
) -> Row | None:
    return await _one(
        conn,
        "one_time_tokens_find_for_user",
        user_id=user_id,
        token_hash=token_hash,
        token_types=token_types,
    )


# -- PKCE flow state -----------------------------------------------------------------------
async def insert_flow_state(
    conn: AsyncConn,
    *,
    user_id: str,
    code_challenge: str,
    code_challenge_method: str,
    authentication_method: str,
) -> None:
    await _all(
        conn,
        "flow_state_insert",
        user_id=user_id,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        provider_type=authentication_method,
        authentication_method=authentication_method,
    )


async def issue_auth_code(conn: AsyncConn, user_id: str, authentication_method: str) -> str | None:
    row = await _one(
        conn,
        "flow_state_issue_code",
        user_id=user_id,
        authentication_method=authentication_method,
    )
    return str(row["auth_code"]) if row else None


async def flow_state_by_auth_code(conn: AsyncConn, auth_code: str, ttl_seconds: int) -> Row | None:
    return await _one(conn, "flow_state_by_auth_code", auth_code=auth_code, ttl_seconds=ttl_seconds)


async def delete_flow_state(conn: AsyncConn, flow_id: Any) -> None:
    await _all(conn, "flow_state_delete", id=flow_id)
