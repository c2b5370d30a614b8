"""Retention of realtime.messages: the stand-in's janitor deletes broadcasts older than the
retention (72 hours by default, as hosted Realtime) on its schedule and keeps newer ones;
only the database's owner may prune."""

from __future__ import annotations

import psycopg
import pytest

from devstack.supabase_api.runtime import Settings
from devstack.supabase_api.server import ServerThread
from tests.support.orchestrator_harness import wait_for

INSERT = """
insert into realtime.messages (topic, extension, event, payload, private, inserted_at)
values (%s, 'broadcast', 'progress', '{}', true, now()::timestamp - %s::interval)
"""


def _topics(conn: psycopg.Connection[tuple[str]]) -> set[str]:
    return {row[0] for row in conn.execute("select topic from realtime.messages").fetchall()}


def test_the_janitor_prunes_messages_past_the_retention_on_its_schedule(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(INSERT, ("old", "73 hours"))
        conn.execute(INSERT, ("older", "30 days"))
        conn.execute(INSERT, ("recent", "71 hours"))
        conn.execute(INSERT, ("now", "0 seconds"))
        settings = Settings(database_url=db_url, janitor_interval_seconds=0.2)
        with ServerThread(settings):
            wait_for(lambda: _topics(conn) == {"recent", "now"}, timeout=15)
            # A later round finds a message that has just aged past the retention.
            conn.execute(
                "update realtime.messages set inserted_at = inserted_at - '2 hours'::interval"
                " where topic = 'recent'"
            )
            wait_for(lambda: _topics(conn) == {"now"}, timeout=15)


@pytest.mark.parametrize("role", ["anon", "authenticated", "service_role"])
def test_only_the_owner_may_prune(db_url: str, role: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(f"set local role {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select realtime.devstack_prune_messages()")
