"""Accounts `make up` needs in Auth: the worker service account and staff users.

Written straight into `auth.users` (with the same SQL the Auth stand-in uses), so it works
before the API is up, and idempotent, so every start-up can run it:

    python -m devstack.supabase_api.accounts worker               # role 'worker', fixed id
    python -m devstack.supabase_api.accounts staff EMAIL [--password P]

The worker's password comes from WORKER_AUTH_PASSWORD (default `local-dev-worker-password`);
it signs in with it at start-up (`sign_in_with_password`) and refreshes its token from then
on. A staff user without a password signs in to the portal with a magic link.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dbolt.log import configure_logging
from devstack import jwt_keys, localdb
from devstack.supabase_api.auth_models import AUDIENCE, DEFAULT_APP_METADATA, DEFAULT_ROLE, User
from devstack.supabase_api.auth_store import queries

log = logging.getLogger(__name__)

DEFAULT_WORKER_PASSWORD = "local-dev-worker-password"  # noqa: S105 - a local-only default

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class EnsuredUser:
    id: str
    email: str
    app_role: str
    created: bool
    password_changed: bool


def worker_password() -> str:
    return os.environ.get("WORKER_AUTH_PASSWORD") or DEFAULT_WORKER_PASSWORD


def _create(
    conn: Conn, email: str, password: str | None, app_role: str, user_id: str | None
) -> User:
    row = queries().fetch_one(
        conn,
        "users_insert",
        id=user_id or str(uuid.uuid4()),
        aud=AUDIENCE,
        role=DEFAULT_ROLE,
        email=email,
        password=password,
        confirmed=True,
        invited=False,
        app_metadata=Jsonb({**DEFAULT_APP_METADATA, "role": app_role}),
        user_metadata=Jsonb({}),
    )
    if row is None:
        raise RuntimeError(f"could not create {email}: user id {user_id} is taken by another user")
    user = User.from_row(row)
    queries().fetch_all(
        conn, "identities_insert_email", user_id=user.id, email=email, verified=True
    )
    queries().fetch_all(conn, "users_confirm_email", id=user.id)
    return user


def _password_differs(conn: Conn, user: User, password: str | None) -> bool:
    if password is None:
        return False
    row = queries().fetch_one(conn, "users_password_matches", id=user.id, password=password)
    return not (row and row["matches"])


def ensure_user(
    conn: Conn,
    email: str,
    password: str | None,
    app_role: str,
    *,
    user_id: str | None = None,
) -> EnsuredUser:
    """Create the user, or bring an existing one to `app_metadata.role = app_role`, confirmed,
    with `password` (when given). Other metadata is kept."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError(f"email: {email!r} is not an email address")
    with conn.transaction():
        row = queries().fetch_one(conn, "users_get_by_email", email=email, aud=AUDIENCE)
        if row is None:
            user = _create(conn, email, password, app_role, user_id)
            log.info(
                "auth account created",
                extra={"action": "auth.account_created", "user_id": user.id, "app_role": app_role},
            )
            return EnsuredUser(user.id, email, app_role, created=True, password_changed=False)
        user = User.from_row(row)
        changed = _password_differs(conn, user, password)
        queries().fetch_all(
            conn,
            "users_update",
            id=user.id,
            email=None,
            role=None,
            app_metadata=Jsonb({**user.app_metadata, "role": app_role}),
            user_metadata=None,
            password=password if changed else None,
            banned_until=None,
            set_banned_until=False,
        )
        if changed:
            # As GoTrue's admin password change: sessions under the old password end.
            queries().fetch_all(conn, "sessions_delete_for_user", user_id=user.id)
        if not user.is_confirmed:
            queries().fetch_all(conn, "users_confirm_email", id=user.id)
    log.info(
        "auth account ensured",
        extra={"action": "auth.account_ensured", "user_id": user.id, "app_role": app_role},
    )
    return EnsuredUser(user.id, email, app_role, created=False, password_changed=changed)


def ensure_worker_account(conn: Conn, password: str | None = None) -> EnsuredUser:
    """The workers' service account (jwt_keys.WORKER_ACCOUNT_ID / _EMAIL), role 'worker'."""
    return ensure_user(
        conn,
        jwt_keys.WORKER_ACCOUNT_EMAIL,
        password or worker_password(),
        "worker",
        user_id=jwt_keys.WORKER_ACCOUNT_ID,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.supabase_api.accounts",
        description="Create or update the worker service account and staff users in auth.users.",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or localdb.database_url()
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("worker", help="the worker service account (password: $WORKER_AUTH_PASSWORD)")
    staff = sub.add_parser("staff", help="create or promote a staff user")
    staff.add_argument("email")
    staff.add_argument("--password", help="set this password (else magic-link sign-in only)")
    args = parser.parse_args(argv)

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        if args.command == "worker":
            ensured = ensure_worker_account(conn)
        else:
            try:
                ensured = ensure_user(conn, args.email, args.password, "staff")
            except ValueError as error:
                sys.exit(str(error))
    print(json.dumps(asdict(ensured)))


if __name__ == "__main__":
    main()
