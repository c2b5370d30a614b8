"""A client on one plain psycopg connection in autocommit mode, as the orchestrator runs.

Autocommit makes every statement its own transaction with a single round trip, which is
how each of our SQL functions is called in production.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bench.queue.harness import BACKEND_MEMORY_SQL


class SyncClient:
    """Connection handling shared by the synchronous clients; subclasses define work()."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise RuntimeError("client used before open()")
        return self._conn

    def open(self) -> None:
        self._conn = psycopg.connect(self.url, autocommit=True)

    def work(self) -> int:
        raise NotImplementedError

    def backend_memory_bytes(self) -> int:
        row = self.conn.execute(BACKEND_MEMORY_SQL).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
