"""The benchmark's databases on the local cluster (devstack.localdb, 127.0.0.1:54322).

Every run gets a brand-new database, so no run pays for the dead rows of the one before.
"""

from __future__ import annotations

import psycopg

from devstack import localdb


def start_cluster() -> None:
    localdb.start()


def fresh_migrated(name: str) -> str:
    """A clone of the fully migrated template: our schema, seed and directory list."""
    return localdb.fresh(name)


def fresh_empty(name: str) -> str:
    """An empty database, for the systems that bring their own schema."""
    localdb.start()
    with psycopg.connect(localdb.database_url(), autocommit=True) as conn:
        identifier = psycopg.sql.Identifier(name)
        conn.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(identifier))
        conn.execute(psycopg.sql.SQL("create database {}").format(identifier))
    return localdb.database_url(name)


def server_version() -> str:
    with psycopg.connect(localdb.database_url()) as conn:
        row = conn.execute("show server_version").fetchone()
    return str(row[0]) if row else "unknown"
