"""The stand-in's source of broadcasts: LISTEN on what devstack/realtime_notify.sql NOTIFYs.

Hosted Realtime tails `realtime.messages` through logical replication; we LISTEN on one
dedicated connection instead. A NOTIFY arrives only after its transaction commits, in commit
order. Rows too big for a NOTIFY come as `{"id", "truncated": true}` and are read back.
Messages committed while the feed is disconnected are not replayed (replication would replay
them), which is why workers never rely on Realtime alone.
"""

from __future__ import annotations

import asyncio
import json
import logging

import psycopg
from psycopg.rows import dict_row

from devstack.supabase_api.realtime_hub import BroadcastRow
from devstack.supabase_api.runtime import Runtime

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "realtime_broadcast"
# Lets tests (and a curious operator) find this connection in pg_stat_activity.
LISTENER_APPLICATION_NAME = "devstack-realtime-listener"
_FIRST_RETRY_SECONDS = 0.5
_MAX_RETRY_SECONDS = 10.0

_FETCH_ROW = """
select id::text as id, topic, event, payload, private
  from realtime.messages
 where id = %(id)s and extension = 'broadcast'
"""


async def _fetch_row(runtime: Runtime, message_id: str) -> BroadcastRow | None:
    async with runtime.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_FETCH_ROW, {"id": message_id})
        row = await cursor.fetchone()
    return BroadcastRow.from_mapping(row) if row else None


async def _row_from_notification(runtime: Runtime, payload: str) -> BroadcastRow | None:
    message = json.loads(payload)
    if message.get("truncated"):
        return await _fetch_row(runtime, str(message["id"]))
    return BroadcastRow.from_mapping(message)


async def _dispatch(runtime: Runtime, payload: str) -> None:
    # One bad notification must not end the feed: log it and carry on with the next.
    try:
        row = await _row_from_notification(runtime, payload)
    except (ValueError, KeyError, psycopg.Error) as error:
        log.error(
            "could not read a broadcast notification",
            extra={"action": "realtime.notification_unreadable", "error": str(error)},
        )
        return
    if row is None:
        return
    offered = runtime.hub.publish(row)
    log.debug(
        "broadcast",
        extra={
            "action": "realtime.broadcast",
            "topic": row.topic,
            "event": row.event,
            "message_id": row.id,
            "channels": offered,
        },
    )


async def _listen(runtime: Runtime) -> None:
    conn = await psycopg.AsyncConnection.connect(
        runtime.settings.database_url,
        autocommit=True,
        application_name=LISTENER_APPLICATION_NAME,
        connect_timeout=5,
        # Notice a peer that vanished without closing the socket.
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
    )
    async with conn:
        await conn.execute(f"listen {NOTIFY_CHANNEL}")
        runtime.listening.set()
        log.info("listening for broadcasts", extra={"action": "realtime.feed_listening"})
        async for notification in conn.notifies():
            await _dispatch(runtime, notification.payload)


async def run_feed(runtime: Runtime) -> None:
    """Background loop for the server's lifetime: it catches, logs and continues.

    A database restart or outage must not take the Realtime stand-in down with it, so any
    failure is logged and the loop reconnects with exponential backoff, then LISTENs again.
    """
    delay = _FIRST_RETRY_SECONDS
    while True:
        try:
            await _listen(runtime)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error(
                "broadcast feed lost; reconnecting",
                extra={"action": "realtime.feed_lost", "error": str(error), "retry_in": delay},
            )
        if runtime.listening.is_set():
            # It had been working: this is a fresh outage, so start the backoff afresh.
            delay = _FIRST_RETRY_SECONDS
            runtime.listening.clear()
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_RETRY_SECONDS)
