"""The relay from Supabase Realtime to the portal's server-sent event streams: the
customer's job page and the staff dashboard both follow topic `staff`, which carries every
job's status and progress (one message per change: migration 20261208000400).

A `Feed` names the private topic and the broadcasts wanted. Every stream of the process
listens through one shared socket (portal.realtime_hub), which tells its `Listener` when the
topic is joined, each broadcast, and when it was lost (then joins again by itself). Who may
hear what is decided by the streams: a customer's only wakes on their own job and re-reads
it under their JWT; the staff stream is served to staff only. Both end when the viewer's
access token expires, and the browser's EventSource comes back with a refreshed one.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import StreamingResponse

from portal.realtime_hub import STAFF_TOPIC, hub_of
from portal.state import PortalState
from portal.viewer import Viewer

# The topic every job's status and progress goes to.
ALL_JOBS_TOPIC = STAFF_TOPIC


@dataclass(frozen=True)
class Feed:
    topic: str
    events: tuple[str, ...]


class Listener(Protocol):
    def joined(self) -> None: ...

    def broadcast(self, event: str, payload: dict[str, Any]) -> None: ...

    def lost(self, error: Exception | None) -> None:
        """The channel is gone (`error` says why, None if it simply ended): not live."""


class _OnlyEvents:
    """Passes on the feed's events only; joined and lost as they come."""

    def __init__(self, feed: Feed, listener: Listener) -> None:
        self._events = set(feed.events)
        self._listener = listener

    def joined(self) -> None:
        self._listener.joined()

    def broadcast(self, event: str, payload: dict[str, Any]) -> None:
        if "*" in self._events or event in self._events:
            self._listener.broadcast(event, payload)

    def lost(self, error: Exception | None) -> None:
        self._listener.lost(error)


@contextlib.asynccontextmanager
async def relaying(
    state: PortalState, feed: Feed, listener: Listener, job_id: str | None = None
) -> AsyncIterator[None]:
    """The listener hears the feed through the process's one Realtime socket while the
    stream lasts (portal.realtime_hub): only what is about `job_id`, when given."""
    hub = hub_of(state.extras, state.settings)
    async with hub.listening(feed.topic, _OnlyEvents(feed, listener), job_id):
        yield


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
