"""Server-sent events for the staff dashboard, fed by Supabase Realtime topic `staff`.

Each open dashboard holds one EventSource; behind it the portal joins the private channel
`staff` through portal.live.broadcasts with the staff user's own access token (Realtime
authorises the join by RLS on realtime.messages, so a non-staff token is refused there too).
The browser is told *that* something changed (job_status, progress, alert) and re-reads the
parts of the page it shows from the portal, under the same JWT.

The stream opens with `ready` once the channel is joined. When Realtime cannot be reached, or
is lost later, the stream says so (`degraded`) and sends a `tick` every few seconds instead,
so the page keeps refreshing by polling, while the portal tries to join again with a growing
pause (`ready` again when it does). A comment line keeps an idle live stream open. The stream
ends when the access token expires; the browser reconnects on its own and the session
middleware refreshes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request

from portal.live import RealtimeSettings, broadcasts
from portal.state import PortalState
from portal.viewer import Viewer

log = logging.getLogger(__name__)

TOPIC = "staff"
EVENTS = ("job_status", "progress", "alert")
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 5.0
REJOIN_SECONDS = 5.0
REJOIN_MAX_SECONDS = 60.0

# What the relay tells the stream, besides the broadcasts themselves.
READY = "ready"
DEGRADED = "degraded"

Inbox = asyncio.Queue[tuple[str, dict[str, Any]]]


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def _put(inbox: Inbox, event: str, payload: Any) -> None:
    # A dashboard that cannot keep up only needs to know something changed.
    with contextlib.suppress(asyncio.QueueFull):
        inbox.put_nowait((event, payload if isinstance(payload, dict) else {}))


async def _relay(settings: RealtimeSettings, access_token: str, inbox: Inbox) -> None:
    """Puts each staff broadcast on `inbox`, READY when joined, DEGRADED when not (or no longer)
    live; then joins again after a pause that doubles up to REJOIN_MAX_SECONDS."""
    delay = REJOIN_SECONDS

    def joined() -> None:
        nonlocal delay
        delay = REJOIN_SECONDS
        _put(inbox, READY, {"live": True})

    while True:
        try:
            feed = broadcasts(settings, access_token, TOPIC, EVENTS, on_joined=joined)
            async with contextlib.aclosing(feed):
                async for message in feed:
                    _put(inbox, message["event"], message["payload"])
        except Exception as error:  # RealtimeUnavailable, or anything else: poll, and say so
            log.warning(
                "staff feed: realtime unavailable, polling",
                extra={
                    "action": "staff.live_degraded",
                    "error": f"{type(error).__name__}: {error}",
                },
            )
        _put(inbox, DEGRADED, {"live": False})
        await asyncio.sleep(delay)
        delay = min(delay * 2, REJOIN_MAX_SECONDS)


async def stream(state: PortalState, viewer: Viewer, request: Request) -> AsyncIterator[str]:
    expires_at = float(viewer.claims.get("exp") or (time.time() + 3600))
    inbox: Inbox = asyncio.Queue(maxsize=1000)
    relay = asyncio.create_task(_relay(state.settings, viewer.access_token, inbox))
    try:
        # The browser retries after 2 s when the stream ends or breaks.
        yield "retry: 2000\n\n"
        live: bool | None = None
        while True:
            if live is None:
                # The first word is READY or DEGRADED: broadcasts() yields nothing before the
                # join, and gives up on one after its join timeout.
                event, payload = await inbox.get()
            else:
                if await request.is_disconnected():
                    return
                if time.time() >= expires_at - 5:
                    # The token the channel was joined with is about to expire: end the stream;
                    # the browser reconnects and the session middleware hands out a fresh one.
                    yield sse("reauth", {})
                    return
                try:
                    wait = KEEPALIVE_SECONDS if live else POLL_SECONDS
                    event, payload = await asyncio.wait_for(inbox.get(), timeout=wait)
                except TimeoutError:
                    yield ": keepalive\n\n" if live else sse("tick", {})
                    continue
            if event in (READY, DEGRADED):
                if (event == READY) is live:
                    continue  # a failed rejoin while degraded is not news
                live = event == READY
            yield sse(event, payload)
    finally:
        relay.cancel()
        # The browser went away (Starlette cancels this generator): let the relay close its
        # Realtime socket even though we are being cancelled.
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await asyncio.gather(relay, return_exceptions=True)
