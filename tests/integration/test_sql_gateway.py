"""The SQL gateway: named blocks, keyword parameters, and driver errors mapped to domain
errors (checked against the real database, which raises them)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from dbolt.sql import (
    BusinessIncomplete,
    Conflict,
    InvalidArgument,
    InvalidTransition,
    LeaseLost,
    NotFound,
    Queries,
    load_queries,
)
from dbolt.sql.gateway import QUERIES_DIR, parse_blocks
from tests.support.queue_helpers import create_job, enable_test_directories


def test_blocks_are_split_by_name() -> None:
    text = "-- name: first\nselect 1;\n\n-- name: second\n-- a comment\nselect %(x)s;\n"
    assert parse_blocks(text) == {"first": "select 1;", "second": "-- a comment\nselect %(x)s;"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-- name: a\nselect 1;\n-- name: a\nselect 2;", "defined twice"),
        ("-- name: a\n\n-- name: b\nselect 1;", "is empty"),
    ],
)
def test_bad_query_files_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_blocks(text, "queue.sql")


def test_every_contract_function_has_a_named_query() -> None:
    names = set(load_queries())
    contract = {
        "jobs_enqueue",
        "jobs_next",
        "jobs_heartbeat",
        "jobs_report_attempt",
        "jobs_complete",
        "jobs_release",
        "jobs_reap_expired",
        "jobs_retry",
        "jobs_pause",
        "jobs_resume",
        "jobs_cancel",
        "queue_stats",
    }
    assert contract <= names


def test_every_query_is_named_after_the_entity_of_its_file() -> None:
    misplaced = [
        f"{path.name}: {name}"
        for path in sorted(QUERIES_DIR.glob("*.sql"))
        for name in parse_blocks(path.read_text(), str(path))
        if not name.startswith(f"{path.stem}_")
    ]
    assert misplaced == []


def test_unknown_query_name_is_a_clear_error(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    with pytest.raises(KeyError, match="no query named 'jobs_nxet'"):
        queries.fetch_one(conn, "jobs_nxet")


def test_custom_sqlstates_become_domain_errors(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    job_id = create_job(conn, queries)
    with pytest.raises(NotFound, match="not found"):
        queries.fetch_one(conn, "jobs_pause", job_id=uuid.uuid4(), actor="staff:a", reason=None)
    with pytest.raises(LeaseLost):
        queries.fetch_one(conn, "jobs_complete", job_id=job_id, lease_token=uuid.uuid4())
    with pytest.raises(InvalidTransition, match="only a paused job can be resumed"):
        queries.fetch_one(conn, "jobs_resume", job_id=job_id, actor="staff:a")
    with pytest.raises(InvalidArgument, match="actor is required"):
        queries.fetch_one(conn, "jobs_pause", job_id=job_id, actor="  ", reason=None)


def test_incomplete_business_names_every_missing_field(
    conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    order = conn.execute(
        "select dev.create_paid_order('half@example.com', 'starter',"
        " dev.sample_business() - 'phone' - 'website' - 'hours')"
    ).fetchone()
    assert order is not None
    with pytest.raises(BusinessIncomplete) as raised:
        queries.fetch_one(conn, "jobs_enqueue", order_id=order[0])
    assert raised.value.missing_fields == ["phone", "website", "hours"]
    assert "missing phone, website, hours" in str(raised.value)
    assert conn.execute("select count(*) from jobs").fetchone() == (0,)


def test_constraint_violations_name_the_constraint(conn: psycopg.Connection[Any]) -> None:
    from dbolt.sql import translate_errors

    with pytest.raises(InvalidArgument, match="customers_phone_is_e164"), translate_errors():
        conn.execute("insert into customers (email, phone) values ('p@example.com', '555-0123')")
    conn.execute("insert into customers (email) values ('dup@example.com')")
    with pytest.raises(Conflict, match="customers_email_key"), translate_errors():
        conn.execute("insert into customers (email) values ('dup@example.com')")


def test_a_never_prepared_query_is_planned_on_every_call(db_url: str, queries: Queries) -> None:
    """psycopg prepares a query after prepare_threshold runs; the staff jobs list says
    `-- prepare: never` (a generic plan sorted every job), and stays unprepared, sync and async,
    while an ordinary query is prepared."""
    listing: dict[str, Any] = {
        "status": None, "tier": None, "customer": None, "search": None,
        "created_after": None, "created_before": None, "limit": 5, "offset": 0,
        "newer": False, "before_at": None, "before_id": None, "after_at": None, "after_id": None,
    }  # fmt: skip
    prepared = "select count(*) from pg_prepared_statements where statement like %s"
    with psycopg.connect(db_url, autocommit=True, prepare_threshold=0) as conn:
        for _ in range(3):
            queries.fetch_all(conn, "jobs_list", **listing)
            queries.fetch_all(conn, "database_ping")
        # The statement's text, not its name, is what pg_prepared_statements holds.
        assert conn.execute(prepared, ("%job_directory_states%",), prepare=False).fetchone() == (0,)
        assert conn.execute(prepared, ("%",), prepare=False).fetchone() == (1,)

    async def run_async() -> tuple[Any, ...] | None:
        async with await psycopg.AsyncConnection.connect(
            db_url, autocommit=True, prepare_threshold=0
        ) as conn:
            for _ in range(3):
                await queries.afetch_all(conn, "jobs_list", **listing)
            cur = await conn.execute(prepared, ("%",), prepare=False)
            return await cur.fetchone()

    assert asyncio.run(run_async()) == (0,)
