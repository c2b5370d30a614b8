"""The worker's service-account session against the Auth stand-in: sign-in, refresh
rotation, and a wrong password refused without leaking it."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from devstack import jwt_keys
from devstack.supabase_api.accounts import ensure_worker_account, worker_password
from devstack.supabase_api.runtime import Settings
from devstack.supabase_api.server import ServerThread
from worker.auth_session import AuthFailed, ServiceAccountSession


def test_the_worker_signs_in_and_refreshes(db_url: str, conn: psycopg.Connection[Any]) -> None:
    ensure_worker_account(conn)
    with ServerThread(Settings(database_url=db_url)) as standin:

        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            session = ServiceAccountSession(
                standin.url,
                jwt_keys.mint_api_key("anon"),
                jwt_keys.WORKER_ACCOUNT_EMAIL,
                worker_password(),
            )
            try:
                first = jwt_keys.verify(await session.sign_in())
                second = jwt_keys.verify(await session.refresh())
                return first, second
            finally:
                await session.aclose()

        first, second = asyncio.run(scenario())
    assert first["sub"] == second["sub"] == jwt_keys.WORKER_ACCOUNT_ID
    assert first["app_metadata"]["role"] == "worker"
    assert second["iat"] >= first["iat"]


def test_a_wrong_password_is_refused_without_echoing_it(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    ensure_worker_account(conn)
    with ServerThread(Settings(database_url=db_url)) as standin:

        async def scenario() -> None:
            session = ServiceAccountSession(
                standin.url,
                jwt_keys.mint_api_key("anon"),
                jwt_keys.WORKER_ACCOUNT_EMAIL,
                "not-the-password-123",
            )
            try:
                await session.sign_in()
            finally:
                await session.aclose()

        with pytest.raises(AuthFailed, match="password refused") as refused:
            asyncio.run(scenario())
    assert "not-the-password-123" not in str(refused.value)
