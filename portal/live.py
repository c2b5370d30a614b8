"""The one relay from Supabase Realtime to the portal's server-sent event streams: the
customer's job page (topic `customer:<uid>`) and the staff dashboard (topic `staff`).

A `Feed` names the private topic, the broadcasts wanted and the pause before joining again.
The relay joins it with the viewer's own access token — the authorisation: Realtime lets the
join through only if RLS on realtime.messages admits that user to the topic — and tells its
`Listener` when it joined, each broadcast, and when the channel was lost (or never joined);
then it waits and joins again, the pause doubling up to the feed's ceiling. What the browser
is sent is each stream's own business (portal.jobs.live, portal.staff.live); both end when
the access token expires, and the browser's EventSource comes back with a refreshed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from starlette.responses import StreamingResponse

from portal.realtime import RealtimeSettings, broadcasts
from portal.viewer import Viewer


@dataclass(frozen=True)
class Feed:
    topic: str
    events: tuple[str, ...]
    rejoin_seconds: float = 5.0
    rejoin_max_seconds: float = 60.0


class Listener(Protocol):
    def joined(self) -> None: ...

    def broadcast(self, event: str, payload: dict[str, Any]) -> None: ...

    def lost(self, error: Exception | None) -> None:
        """The channel is gone (`error` says why, None if it simply ended): not live."""


async def relay(
    settings: RealtimeSettings, access_token: str, feed: Feed, listener: Listener
) -> None:
    """Follows `feed` until cancelled, rejoining after each loss."""
    delay = feed.rejoin_seconds

    def joined() -> None:
        nonlocal delay
        delay = feed.rejoin_seconds
        listener.joined()

    while True:
        lost: Exception | None = None
        try:
            messages = broadcasts(settings, access_token, feed.topic, feed.events, on_joined=joined)
            async with contextlib.aclosing(messages):
                async for message in messages:
                    payload = message["payload"]
                    listener.broadcast(
                        message["event"], payload if isinstance(payload, dict) else {}
                    )
        except Exception as error:  # RealtimeUnavailable, or anything else: not live, say so
            lost = error
        listener.lost(lost)
        await asyncio.sleep(delay)
        delay = min(delay * 2, feed.rejoin_max_seconds)


@contextlib.asynccontextmanager
async def relaying(
    settings: RealtimeSettings, viewer: Viewer, feed: Feed, listener: Listener
) -> AsyncIterator[None]:
    """Runs the relay for the viewer while the stream lasts."""
    task = asyncio.create_task(relay(settings, viewer.access_token, feed, listener))
    try:
        yield
    finally:
        task.cancel()
        # The browser went away (Starlette cancels the stream): let the relay close its
        # Realtime socket even though we are being cancelled.
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await asyncio.gather(task, return_exceptions=True)


def token_expires_at(viewer: Viewer) -> float:
    """When the token the channel is joined with expires (epoch seconds): the stream ends then."""
    return float(viewer.claims.get("exp") or (time.time() + 3600))


def sse(event: str, data: Mapping[str, Any], event_id: int | None = None) -> str:
    """One server-sent event."""
    id_line = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, separators=(",", ":"), default=str)
    return f"event: {event}\n{id_line}data: {body}\n\n"


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """The stream as a response no cache or proxy buffers."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
