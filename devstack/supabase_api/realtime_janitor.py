"""The stand-in's janitor: realtime.messages kept for as long as hosted Realtime keeps them.

Hosted Realtime drops its daily realtime.messages partitions once they are 72 hours old; a
local database would otherwise keep every broadcast (two per attempt) for ever. Every
`janitor_interval_seconds` this deletes the rows past `message_retention_hours`
(realtime.devstack_prune_messages in devstack/realtime_notify.sql).
"""

from __future__ import annotations

import asyncio
import datetime
import logging

from devstack.supabase_api.runtime import Runtime

log = logging.getLogger(__name__)

_PRUNE = "select realtime.devstack_prune_messages(%(keep)s)"


async def prune_once(runtime: Runtime) -> int:
    keep = datetime.timedelta(hours=runtime.settings.message_retention_hours)
    async with runtime.pool.connection() as conn:
        cursor = await conn.execute(_PRUNE, {"keep": keep})
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def run_janitor(runtime: Runtime) -> None:
    """Background loop for the server's lifetime: it catches, logs and continues (a database
    that is down now is pruned on a later round)."""
    while True:
        try:
            pruned = await prune_once(runtime)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error(
                "could not prune realtime.messages",
                extra={"action": "realtime.prune_failed", "error": str(error)},
            )
        else:
            log.info(
                "pruned realtime.messages",
                extra={"action": "realtime.pruned", "rows": pruned},
            )
        await asyncio.sleep(runtime.settings.janitor_interval_seconds)
