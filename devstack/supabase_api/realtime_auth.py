"""Who may read a private channel, decided the way Supabase Realtime decides it: by RLS.

Realtime (lib/realtime/tenants/authorization.ex) opens a transaction on a privileged
connection, inserts one `broadcast` and one `presence` probe row for the topic, then switches
to the joiner's role with `realtime.topic`, `request.jwt.claims` and `request.headers` set
locally, selects the probe rows back — a row it can see means read access for that
extension — and rolls everything back. Our policies on `realtime.messages` (migration
20261129001500) therefore decide here exactly what they decide in a hosted project.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

log = logging.getLogger(__name__)

# Roles a token may switch the probe into. Anything else (a validly signed token claiming
# `postgres`, say) would run the probe as a privileged role, so it is refused outright.
# service_role has BYPASSRLS, which is how it may read every topic.
PROBE_ROLES = frozenset({"anon", "authenticated", "service_role"})

_INSERT_PROBES = """
insert into realtime.messages (topic, extension)
values (%(topic)s, 'broadcast'), (%(topic)s, 'presence')
returning id, extension
"""
_ACT_AS_JOINER = """
select set_config('role', %(role)s, true),
       set_config('realtime.topic', %(topic)s, true),
       set_config('request.jwt.claims', %(claims)s, true),
       set_config('request.headers', %(headers)s, true)
"""
_READ_PROBES_BACK = """
select extension from realtime.messages
 where topic = %(topic)s
   and ((extension = 'broadcast' and id = %(broadcast)s)
     or (extension = 'presence' and id = %(presence)s))
"""


class AuthorisationUnavailable(Exception):
    """The database could not be asked; Realtime refuses the join rather than guess."""


async def _probe(
    conn: psycopg.AsyncConnection[Any], topic: str, claims: dict[str, Any], role: str
) -> set[str]:
    """The extensions (`broadcast`, `presence`) the joiner may read on `topic`."""
    async with conn.transaction(force_rollback=True):
        cursor = await conn.execute(_INSERT_PROBES, {"topic": topic})
        probe_ids = {extension: probe_id for probe_id, extension in await cursor.fetchall()}
        await conn.execute(
            _ACT_AS_JOINER,
            {"role": role, "topic": topic, "claims": json.dumps(claims), "headers": "{}"},
        )
        cursor = await conn.execute(
            _READ_PROBES_BACK,
            {
                "topic": topic,
                "broadcast": probe_ids["broadcast"],
                "presence": probe_ids["presence"],
            },
        )
        return {extension for (extension,) in await cursor.fetchall()}


async def can_read(pool: AsyncConnectionPool, topic: str, claims: dict[str, Any]) -> bool:
    """True when RLS lets the token's holder read `topic` (broadcast or presence)."""
    role = claims.get("role")
    if not isinstance(role, str) or role not in PROBE_ROLES:
        log.warning(
            "token role may not join private channels",
            extra={"action": "realtime.role_refused", "topic": topic, "role": role},
        )
        return False
    try:
        async with pool.connection() as conn:
            readable = await _probe(conn, topic, claims, role)
    except (PoolTimeout, psycopg.OperationalError) as error:
        raise AuthorisationUnavailable(str(error)) from error
    except psycopg.Error as error:
        # A policy that raises is a refusal, as in Realtime (it logs RlsPolicyError).
        log.warning(
            "RLS policy error while authorising a join",
            extra={"action": "realtime.rls_policy_error", "topic": topic, "error": str(error)},
        )
        return False
    return bool(readable)
