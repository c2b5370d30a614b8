"""Server-sent events for the staff dashboard, fed by Supabase Realtime topic `staff`.

Each open dashboard holds one EventSource; behind it the portal joins the private channel
`staff` with the official `realtime` client and the staff user's own access token (Realtime
authorises the join by RLS on realtime.messages, so a non-staff token is refused there too).
The browser is told *that* something changed (job_status, progress, alert) and re-reads the
parts of the page it shows from the portal, under the same JWT.

When Realtime cannot be reached the stream says so (`degraded`) and sends a `tick` every few
seconds instead, so the page keeps refreshing by polling. The stream ends when the access
token expires; the browser reconnects on its own and the session middleware refreshes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from realtime import AsyncRealtimeClient
from realtime.types import BroadcastPayload, RealtimeChannelOptions
from starlette.requests import Request

from portal.state import PortalState
from portal.viewer import Viewer

log = logging.getLogger(__name__)

TOPIC = "staff"
EVENTS = ("job_status", "progress", "alert")
PRIVATE: RealtimeChannelOptions = {"config": {"private": True, "broadcast": {"self": False}}}  # type: ignore[typeddict-item]
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 5.0
JOIN_TIMEOUT_SECONDS = 10.0


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


class StaffFeed:
    """One Realtime connection joined to `staff`, queueing what arrives."""

    def __init__(self, supabase_url: str, anon_key: str, access_token: str) -> None:
        self.url = supabase_url.rstrip("/") + "/realtime/v1"
        self.anon_key = anon_key
        self.access_token = access_token
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=1000)
        self.client: AsyncRealtimeClient | None = None

    def _callback(self, event: str) -> Callable[[BroadcastPayload], None]:
        def on_broadcast(message: BroadcastPayload) -> None:
            payload = message.get("payload") if isinstance(message, dict) else None
            # A dashboard that cannot keep up only needs to know something changed.
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait((event, payload if isinstance(payload, dict) else {}))

        return on_broadcast

    async def join(self) -> None:
        self.client = AsyncRealtimeClient(self.url, self.anon_key, auto_reconnect=True)
        await self.client.connect()
        await self.client.set_auth(self.access_token)
        channel = self.client.channel(TOPIC, PRIVATE)
        for event in EVENTS:
            channel.on_broadcast(event, self._callback(event))
        joined = asyncio.Event()
        failure: list[str] = []

        def on_state(state: Any, error: Exception | None = None) -> None:
            if str(state).endswith("SUBSCRIBED"):
                joined.set()
            elif error is not None or "ERROR" in str(state) or "CLOSED" in str(state):
                failure.append(f"{state}: {error}")
                joined.set()

        await channel.subscribe(on_state)
        await asyncio.wait_for(joined.wait(), timeout=JOIN_TIMEOUT_SECONDS)
        if failure:
            raise ConnectionError(f"could not join {TOPIC}: {failure[0]}")

    async def aclose(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing a dying socket is best effort
                await client.close()


async def stream(state: PortalState, viewer: Viewer, request: Request) -> AsyncIterator[str]:
    settings = state.settings
    expires_at = float(viewer.claims.get("exp") or (time.time() + 3600))
    feed = StaffFeed(
        settings.supabase_url, settings.supabase_anon_key.get_secret_value(), viewer.access_token
    )
    # The browser retries after 2 s when the stream ends or breaks.
    yield "retry: 2000\n\n"
    live = True
    try:
        await feed.join()
    except Exception as error:  # any failure to join means: poll instead, and say so
        live = False
        log.warning(
            "staff feed: realtime unavailable, polling",
            extra={"action": "staff.live_degraded", "error": f"{type(error).__name__}: {error}"},
        )
        await feed.aclose()
    try:
        yield sse("ready" if live else "degraded", {"live": live})
        while True:
            if await request.is_disconnected():
                return
            if time.time() >= expires_at - 5:
                # The token the channel was joined with is about to expire: end the stream;
                # the browser reconnects and the session middleware hands out a fresh one.
                yield sse("reauth", {})
                return
            wait = KEEPALIVE_SECONDS if live else POLL_SECONDS
            try:
                event, payload = await asyncio.wait_for(feed.queue.get(), timeout=wait)
            except TimeoutError:
                yield sse("tick", {}) if not live else ": keepalive\n\n"
                continue
            yield sse(event, payload)
    finally:
        await feed.aclose()
