"""Named SQL blocks loaded from dbolt/queries/*.sql and run with keyword parameters.

A block starts with `-- name: <name>` and runs until the next one; parameters are psycopg's
`%(name)s` placeholders, so every call site names what it passes. Keeping SQL in .sql files
lets it be read, linted and reviewed as SQL.

A block that says `-- prepare: never` is never a server-side prepared statement: psycopg
prepares a query after a few runs on a connection, and PostgreSQL may then settle on a generic
plan, blind to which optional filters are null; a query whose good plan depends on them (the
staff jobs list: an index walk newest first, not a sort of every job) is planned each call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dbolt.sql.errors import translate_errors

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"
_BLOCK_HEADER = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
NEVER_PREPARED = "-- prepare: never"

Row = dict[str, Any]


def parse_blocks(text: str, source: str = "<string>") -> dict[str, str]:
    """Split a .sql file into its named blocks; a duplicate name is an error."""
    headers = list(_BLOCK_HEADER.finditer(text))
    blocks: dict[str, str] = {}
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        name = header.group("name")
        if name in blocks:
            raise ValueError(f"{source}: query {name!r} is defined twice")
        body = text[header.end() : end].strip()
        if not body:
            raise ValueError(f"{source}: query {name!r} is empty")
        blocks[name] = body
    return blocks


def load_queries(directory: Path = QUERIES_DIR) -> dict[str, str]:
    queries: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, body in parse_blocks(path.read_text(), str(path)).items():
            if name in queries:
                raise ValueError(f"{path}: query {name!r} is also defined in another file")
            queries[name] = body
    return queries


@dataclass(frozen=True)
class Queries:
    """The named queries, runnable on a sync or an async psycopg connection."""

    sql: Mapping[str, str]

    @classmethod
    def load(cls) -> Queries:
        return cls(load_queries())

    def _text(self, name: str) -> str:
        try:
            return self.sql[name]
        except KeyError:
            raise KeyError(f"no query named {name!r} in {QUERIES_DIR}") from None

    def _prepare(self, text: str) -> bool | None:
        """psycopg's `prepare`: False for a `-- prepare: never` block, else its default."""
        return False if NEVER_PREPARED in text else None

    def fetch_all(self, conn: psycopg.Connection[Any], name: str, **params: Any) -> list[Row]:
        text = self._text(name)
        with translate_errors(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(text, params, prepare=self._prepare(text))
            return cur.fetchall() if cur.description else []

    def fetch_one(self, conn: psycopg.Connection[Any], name: str, **params: Any) -> Row | None:
        rows = self.fetch_all(conn, name, **params)
        return rows[0] if rows else None

    async def afetch_all(
        self, conn: psycopg.AsyncConnection[Any], name: str, **params: Any
    ) -> list[Row]:
        text = self._text(name)
        with translate_errors():
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(text, params, prepare=self._prepare(text))
                return await cur.fetchall() if cur.description else []

    async def afetch_one(
        self, conn: psycopg.AsyncConnection[Any], name: str, **params: Any
    ) -> Row | None:
        rows = await self.afetch_all(conn, name, **params)
        return rows[0] if rows else None
