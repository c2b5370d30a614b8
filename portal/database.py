"""The portal's layer over dbolt's Database: every customer read under the customer's own JWT.

`as_viewer` opens a transaction as role `authenticated` (staff: `dbolt_staff`) with the
viewer's verified claims in `request.jwt.claims` — what PostgREST does for a request — so
row-level security decides what each customer sees. `as_service` is the service role, for
the few things no signed-in user may do (finding the order behind a Stripe checkout
session); it is never used to read on a customer's behalf.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg

from dbolt.sql import Queries
from dbolt.sql.database import Database
from dbolt.sql.gateway import Row
from portal.viewer import Viewer


@dataclass(frozen=True)
class QuerySession:
    """Named queries on one connection inside one transaction."""

    conn: psycopg.AsyncConnection[Any]
    queries: Queries

    async def fetch_all(self, name: str, **params: Any) -> list[Row]:
        return await self.queries.afetch_all(self.conn, name, **params)

    async def fetch_one(self, name: str, **params: Any) -> Row | None:
        return await self.queries.afetch_one(self.conn, name, **params)


class PortalDatabase(Database):
    """dbolt's Database plus the two ways the portal runs queries. The inherited fetch_all and
    fetch_one run as the service role, as as_service does; customer reads use as_viewer."""

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self.connection() as conn, conn.transaction():
            yield conn

    @contextlib.asynccontextmanager
    async def as_viewer(self, viewer: Viewer) -> AsyncIterator[QuerySession]:
        # Staff read the queue's internal columns (lease, worker, proxy, artifacts) on the
        # dashboard; customers may not, so staff run as dbolt_staff: authenticated plus those
        # columns, RLS still asking for the staff claim (migration 20261203000150).
        role = "dbolt_staff" if viewer.is_staff else "authenticated"
        async with self._transaction() as conn:
            # Transaction-local (is_local = true): the pooled connection goes back clean.
            await conn.execute(
                "select set_config('role', %(role)s, true),"
                " set_config('request.jwt.claims', %(claims)s, true)",
                {"role": role, "claims": json.dumps(viewer.claims)},
            )
            yield QuerySession(conn, self.queries)

    @contextlib.asynccontextmanager
    async def as_service(self) -> AsyncIterator[QuerySession]:
        async with self._transaction() as conn:
            yield QuerySession(conn, self.queries)
