"""The staff dashboard's test harness: the Auth/Realtime stand-in, a real orchestrator and the
portal app on fresh ports over one test database, staff and customer tokens, and seeded
history. Used by tests/integration/test_staff_dashboard.py and tests/e2e/test_staff_browser.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI
from psycopg.types.json import Jsonb

from dbolt.sql import Queries
from devstack.serving import AppServer
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from tests.support.orchestrator_harness import STAFF_KEY, build, serve
from tests.support.portal_harness import PORTAL_URL, access_token, portal_app
from tests.support.ports import free_port
from tests.support.queue_helpers import create_job, enable_test_directories, report

Conn = psycopg.Connection[Any]
STAFF_EMAIL = "ann.staff@directorybolt.test"


def make_auth_user(db_url: str, email: str, app_role: str | None) -> uuid.UUID:
    """An Auth user (auth.users row) with app_metadata.role = app_role."""
    user_id = uuid.uuid4()
    meta: dict[str, Any] = {"provider": "email", "providers": ["email"]}
    if app_role:
        meta["role"] = app_role
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,"
            " raw_app_meta_data, raw_user_meta_data, created_at, updated_at)"
            " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
            " 'authenticated', %s, now(), %s, '{}', now(), now())",
            (user_id, email, Jsonb(meta)),
        )
    return user_id


@dataclass
class StaffStack:
    db_url: str
    app: FastAPI
    portal_url: str
    supabase: ServerThread
    orchestrator_url: str
    artifacts_dir: Path

    def staff_token(self, email: str = STAFF_EMAIL) -> str:
        user_id = make_auth_user(self.db_url, email, "staff")
        return access_token(user_id, email, "staff")

    def customer_token(self, email: str = "carla@example.com") -> str:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            conn.execute("select dev.create_paid_order(%s, 'starter')", (email,))
            row = conn.execute(
                "select user_id from customers where email = %s", (email,)
            ).fetchone()
        assert row is not None
        return access_token(row[0], email)


@contextmanager
def staff_stack(
    db_url: str, artifacts_dir: Path, *, http_server: bool = False, **overrides: Any
) -> Iterator[StaffStack]:
    """Auth/Realtime stand-in, orchestrator (uvicorn) and the portal app on fresh ports."""
    with ExitStack() as stack:
        supabase = stack.enter_context(ServerThread(SupabaseSettings(database_url=db_url)))
        orchestrator_url = stack.enter_context(serve(build(db_url)))
        port = free_port()
        portal_url = f"http://127.0.0.1:{port}" if http_server else PORTAL_URL
        app = portal_app(
            db_url,
            supabase.url,
            portal_url=portal_url,
            orchestrator_url=orchestrator_url,
            staff_api_key=STAFF_KEY,
            artifacts_dir=artifacts_dir,
            **overrides,
        )
        if http_server:
            stack.enter_context(AppServer(app, "the portal", port=port))
        yield StaffStack(db_url, app, portal_url, supabase, orchestrator_url, artifacts_dir)


def claim(conn: Conn, queries: Queries, worker: str = "w1") -> dict[str, Any]:
    job = queries.fetch_one(conn, "jobs_next", worker_id=worker, lease_seconds=300)
    assert job is not None
    return job


def seed_history(conn: Conn, queries: Queries) -> None:
    """Three days of attempts and completions, spread over many hours."""
    dirs = enable_test_directories(conn, 4)
    outcomes: list[tuple[str, dict[str, Any]]] = [
        ("success", {}),
        ("transient_error", {"error_code": "proxy_error", "proxy": "http://p1:1"}),
        (
            "transient_error",
            {"error_code": "captcha_unsolved", "captcha_kind": "image", "captcha_solved": False},
        ),
        ("success", {"captcha_kind": "image", "captcha_solved": True}),
        ("permanent_error", {"error_code": "site_down"}),
        ("needs_action", {"action_required": "confirm by email"}),
    ]
    for n in range(8):
        create_job(conn, queries, email=f"history{n}@example.com")
        job = claim(conn, queries, f"w{n}")
        for index, directory in enumerate(dirs):
            outcome, extra = outcomes[(n + index) % len(outcomes)]
            report(conn, queries, job, directory, outcome=outcome, **extra)
            if outcome == "transient_error":
                report(conn, queries, job, directory, attempt=2, outcome="success")
        queries.fetch_one(conn, "jobs_complete", job_id=job["id"], lease_token=job["lease_token"])
        # Job n happened n * 7 hours ago (its attempts a minute apart before completion).
        conn.execute(
            "update job_results set reported_at = now() - make_interval(hours => %s)"
            " - make_interval(mins => (id %% 7)::int) where job_id = %s",
            (n * 7, job["id"]),
        )
        conn.execute(
            "update jobs set completed_at = now() - make_interval(hours => %s) where id = %s",
            (n * 7, job["id"]),
        )
