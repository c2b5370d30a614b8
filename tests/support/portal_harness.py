"""The portal in-process for tests: against the test's fresh database, with the real Auth /
Realtime stand-in (whose keys the portal verifies tokens against) and a mail catcher.

`portal_stack` is a fixture (tests/conftest.py loads this module as a plugin).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devstack import jwt_keys
from devstack.mailcatcher.runner import MailCatcher
from devstack.supabase_api.auth_settings import AuthSettings
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal.app import create_app
from portal.auth.cookies import ACCESS_COOKIE
from portal.settings import PortalSettings
from tests.support.ports import free_port

PORTAL_URL = "http://testserver"


def portal_settings(db_url: str, supabase_url: str, **overrides: Any) -> PortalSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": db_url,
        "portal_url": PORTAL_URL,
        "supabase_url": supabase_url,
        "supabase_anon_key": jwt_keys.mint_api_key("anon"),
        "supabase_service_role_key": jwt_keys.mint_api_key("service_role"),
        "db_pool_max_size": 4,
        **overrides,
    }
    return PortalSettings(**values)


def portal_app(db_url: str, supabase_url: str, **overrides: Any) -> FastAPI:
    return create_app(portal_settings(db_url, supabase_url, **overrides))


def access_token(
    user_id: uuid.UUID | str, email: str, app_role: str | None = None, expires_in: int = 3600
) -> str:
    """A real ES256 access token, as Auth issues after a sign-in."""
    return jwt_keys.mint_access_token(
        str(user_id),
        email=email,
        app_metadata={"role": app_role} if app_role else None,
        expires_in=expires_in,
    )


def sign_in_cookies(
    user_id: uuid.UUID | str, email: str, app_role: str | None = None
) -> dict[str, str]:
    return {ACCESS_COOKIE: access_token(user_id, email, app_role)}


@dataclass
class Customer:
    email: str
    user_id: uuid.UUID
    customer_id: uuid.UUID
    order_id: uuid.UUID

    @property
    def cookies(self) -> dict[str, str]:
        return sign_in_cookies(self.user_id, self.email)


@dataclass
class PortalStack:
    client: TestClient
    supabase: ServerThread
    mail: MailCatcher
    db_url: str

    def customer(
        self, email: str, tier: str = "starter", business: dict[str, Any] | None = None
    ) -> Customer:
        """An Auth user with a customer row and a paid order (dev.create_paid_order)."""
        business_json = None if business is None else psycopg.types.json.Jsonb(business)
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            created = conn.execute(
                "select dev.create_paid_order(%s, %s, %s::jsonb)", (email, tier, business_json)
            ).fetchone()
            assert created is not None
            row = conn.execute(
                "select o.id, c.id, c.user_id from orders o"
                " join customers c on c.id = o.customer_id where o.id = %s",
                (created[0],),
            ).fetchone()
        assert row is not None
        return Customer(email=email.lower(), user_id=row[2], customer_id=row[1], order_id=row[0])

    def staff(self, email: str = "staff@directorybolt.test") -> dict[str, str]:
        """Cookies of a staff user (app_metadata.role = staff), created in auth.users."""
        user_id = uuid.uuid4()
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            conn.execute(
                "insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,"
                " raw_app_meta_data, raw_user_meta_data, created_at, updated_at)"
                " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
                " 'authenticated', %s, now(), %s, '{}', now(), now())",
                (
                    user_id,
                    email,
                    psycopg.types.json.Jsonb(
                        {"provider": "email", "providers": ["email"], "role": "staff"}
                    ),
                ),
            )
        return sign_in_cookies(user_id, email, "staff")


@pytest.fixture
def portal_stack(db_url: str) -> Iterator[PortalStack]:
    with MailCatcher(smtp_port=free_port()) as mail:
        auth = AuthSettings(
            smtp_url=mail.smtp_url, site_url=PORTAL_URL, email_max_frequency_seconds=0.0
        )
        with ServerThread(SupabaseSettings(database_url=db_url, auth=auth)) as supabase:
            app = portal_app(db_url, supabase.url)
            with TestClient(app, base_url=PORTAL_URL, follow_redirects=False) as client:
                yield PortalStack(client=client, supabase=supabase, mail=mail, db_url=db_url)
