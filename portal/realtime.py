"""Supabase Realtime for the portal: a signed-in user's private topic as an async iterator,
for the server-sent event streams (portal.live relays it to the job page and the staff
dashboard).

The portal joins with the viewer's own access token — never the service-role key — so
Realtime's own authorisation (our RLS policies on realtime.messages) decides what the viewer
may hear: `customer:<their uid>` for a customer, `staff` for staff.

    async with contextlib.aclosing(broadcasts(settings, viewer.access_token,
                                              f"customer:{viewer.user_id}")) as feed:
        async for message in feed:          # {"event": "progress", "payload": {...}}
            ...

The iterator raises RealtimeUnavailable when Realtime cannot be reached, refuses the join,
or drops the channel later (e.g. the token expired): callers fall back to re-reading the
database on a timer and may try again. It never reconnects by itself, so a caller always
knows whether it is live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any, Protocol

from realtime import AsyncRealtimeClient, RealtimeSubscribeStates
from realtime.types import BroadcastPayload, RealtimeChannelOptions

log = logging.getLogger(__name__)

JOIN_TIMEOUT_SECONDS = 10.0


class RealtimeSettings(Protocol):
    """What broadcasts() needs of a settings object (PortalSettings has both)."""

    @property
    def supabase_url(self) -> str: ...

    @property
    def supabase_anon_key(self) -> Any: ...  # SecretStr


class RealtimeUnavailable(Exception):
    """Realtime could not be joined, or the channel was lost; the message says why."""


def _options() -> RealtimeChannelOptions:
    options: Any = {
        "config": {
            "private": True,
            "broadcast": {"self": False, "ack": False},
            "presence": {"key": "", "enabled": False},
        }
    }
    return options  # type: ignore[no-any-return]


async def broadcasts(
    settings: RealtimeSettings,
    access_token: str,
    topic: str,
    events: Iterable[str] = ("*",),
    *,
    on_joined: Callable[[], None] | None = None,
    join_timeout: float = JOIN_TIMEOUT_SECONDS,
) -> AsyncGenerator[dict[str, Any], None]:
    """Each broadcast on private `topic` as {"event", "payload"}, until the channel is lost."""
    anon_key = settings.supabase_anon_key.get_secret_value()
    url = settings.supabase_url.rstrip("/") + "/realtime/v1"
    inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    client = AsyncRealtimeClient(url, anon_key or None, auto_reconnect=False)

    def on_broadcast(message: BroadcastPayload) -> None:
        inbox.put_nowait(("broadcast", message))

    def on_state(state: RealtimeSubscribeStates, error: Exception | None = None) -> None:
        if state == RealtimeSubscribeStates.SUBSCRIBED:
            inbox.put_nowait(("joined", None))
        else:
            inbox.put_nowait(("lost", f"{state.value}: {error}" if error else state.value))

    try:
        try:
            await asyncio.wait_for(client.connect(), join_timeout)
            await client.set_auth(access_token)
            channel = client.channel(topic, _options())
            for event in events:
                channel.on_broadcast(event, on_broadcast)
            await channel.subscribe(on_state)
        except Exception as error:  # any failure to reach Realtime means: not live
            raise RealtimeUnavailable(f"{type(error).__name__}: {error}") from error
        joined = False
        while True:
            try:
                kind, item = await asyncio.wait_for(inbox.get(), None if joined else join_timeout)
            except TimeoutError:
                raise RealtimeUnavailable(f"no answer to joining {topic}") from None
            if kind == "joined":
                joined = True
                if on_joined is not None:
                    on_joined()
            elif kind == "lost":
                raise RealtimeUnavailable(str(item))
            elif joined:
                yield {"event": str(item.get("event", "")), "payload": item.get("payload") or {}}
    finally:
        try:
            await client.close()
        except Exception:  # closing a dead socket is best effort
            log.debug("realtime close failed", extra={"action": "portal.realtime_close_failed"})
