"""Writes per cycle: rows inserted, updated (HOT or not) and deleted per table, and WAL bytes,
read from the run's own database before and after its cycles (pg_stat_user_tables,
pg_current_wal_lsn). A cycle's cost on a busy queue is mostly its writes: each row written
is a heap tuple, index entries (none for a HOT update), WAL, and later vacuum work.

The counters are per database (each run has a fresh one), but WAL is the whole cluster's:
the benchmark's cluster is its own, so only autovacuum adds to it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

# Backends flush their table counters when they exit; a reading taken while the clients'
# backends are still closing would miss their last writes.
IDLE_TIMEOUT_SECONDS = 10.0

OTHER_BACKENDS_SQL = """
select count(*) from pg_stat_activity
 where datname = current_database() and pid <> pg_backend_pid()
"""

TABLE_COUNTERS_SQL = """
select schemaname || '.' || relname as name, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
  from pg_stat_user_tables
"""


@dataclass(frozen=True)
class TableWrites:
    inserted: float = 0.0
    updated: float = 0.0
    hot_updated: float = 0.0
    deleted: float = 0.0

    @property
    def rows(self) -> float:
        return self.inserted + self.updated + self.deleted


@dataclass(frozen=True)
class Snapshot:
    wal_lsn: str
    tables: Mapping[str, tuple[int, int, int, int]]


@dataclass(frozen=True)
class Writes:
    """What one cycle wrote, on average over a run."""

    wal_bytes: float = 0.0
    tables: Mapping[str, TableWrites] = field(default_factory=dict)

    @property
    def rows(self) -> float:
        return sum(table.rows for table in self.tables.values())

    @property
    def inserted(self) -> float:
        return sum(table.inserted for table in self.tables.values())

    @property
    def updated(self) -> float:
        return sum(table.updated for table in self.tables.values())

    @property
    def hot_updated(self) -> float:
        return sum(table.hot_updated for table in self.tables.values())

    @property
    def deleted(self) -> float:
        return sum(table.deleted for table in self.tables.values())


def snapshot(url: str) -> Snapshot:
    """The database's write counters once every other backend on it has gone."""
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS
        while _count(conn, OTHER_BACKENDS_SQL) and time.monotonic() < deadline:
            time.sleep(0.02)
        row = conn.execute("select pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        tables = {
            name: (int(ins), int(upd), int(hot), int(dele))
            for name, ins, upd, hot, dele in conn.execute(TABLE_COUNTERS_SQL).fetchall()
        }
    return Snapshot(wal_lsn=str(row[0]), tables=tables)


def per_cycle(url: str, before: Snapshot, after: Snapshot, cycles: int) -> Writes:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)", (after.wal_lsn, before.wal_lsn)
        ).fetchone()
    wal_bytes = float(row[0]) if row else 0.0
    tables: dict[str, TableWrites] = {}
    for name, counts in after.tables.items():
        old = before.tables.get(name, (0, 0, 0, 0))
        ins, upd, hot, dele = (new - prior for new, prior in zip(counts, old, strict=True))
        if ins or upd or dele:
            tables[name] = TableWrites(ins / cycles, upd / cycles, hot / cycles, dele / cycles)
    return Writes(wal_bytes=wal_bytes / cycles, tables=tables)


def _count(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0
