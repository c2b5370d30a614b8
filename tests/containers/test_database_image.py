"""The server the contract tests talk to in `make test-containers` is the database image's,
started by testcontainers, shaped like a hosted Supabase database before our migrations."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from devstack import localdb
from tests.containers.plugin import DatabaseContainer, image_marker

pytestmark = pytest.mark.containers


def test_db_url_is_served_by_the_container(
    database_container: DatabaseContainer, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    assert image_marker(db_url) == database_container.image
    row = conn.execute(
        "select inet_server_port(), current_setting('data_directory'), version()"
    ).fetchone()
    assert row is not None
    port, data_directory, version = row
    assert port == database_container.port != database_container.local_cluster_port
    # The image's data directory (deploy/images/db/Containerfile), not .local/pg's.
    assert data_directory == "/var/lib/postgresql/data"
    assert version.startswith("PostgreSQL 15.")
    assert database_container.container.status == "running"


def test_postgres_database_has_the_bootstrap_and_none_of_our_migrations(
    database_container: DatabaseContainer,
) -> None:
    with psycopg.connect(localdb.database_url("postgres")) as conn:
        row = conn.execute(
            "select to_regprocedure('auth.uid()') is not null,"
            " to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null,"
            " to_regclass('public.jobs') is null,"
            " (select count(*) from pg_available_extensions"
            "   where name in ('pgtap', 'plpgsql_check'))"
        ).fetchone()
    assert row == (True, True, True, 2)


def test_a_wrong_password_is_refused(database_container: DatabaseContainer) -> None:
    url = f"postgresql://postgres:not-the-password@127.0.0.1:{database_container.port}/postgres"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url, connect_timeout=5).close()


def test_the_server_runs_as_the_postgres_user(database_container: DatabaseContainer) -> None:
    # The postmaster writes postmaster.pid, so the file's owner is the server's OS user.
    result = database_container.container.exec(
        ["stat", "-c", "%U %u", "/var/lib/postgresql/data/postmaster.pid"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.decode().split() == ["postgres", "999"]
