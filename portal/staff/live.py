"""Server-sent events for the staff dashboard, fed by Supabase Realtime topic `staff` through
the portal's relay (portal.live) and its one shared socket. The payloads are passed on to
the browser, so only staff reach this stream (the route's StaffViewer). The browser
is told *that* something changed (job_status, progress, alert) and re-reads the parts of the
page it shows from the portal, under the same JWT.

The stream opens with `ready` once the channel is joined. When Realtime cannot be reached, or
is lost later, the stream says so (`degraded`) and sends a `tick` every few seconds instead,
so the page keeps refreshing by polling, while the relay tries to join again with a growing
pause (`ready` again when it does). A comment line keeps an idle live stream open. The stream
ends (`reauth`) when the access token expires; the browser reconnects on its own and the
session middleware refreshes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request

from portal.live import ALL_JOBS_TOPIC, Feed, relaying, sse, token_expires_at
from portal.state import PortalState
from portal.viewer import Viewer

log = logging.getLogger(__name__)

FEED = Feed(ALL_JOBS_TOPIC, ("job_status", "progress", "alert"))
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 5.0

# What the relay tells the stream, besides the broadcasts themselves.
READY = "ready"
DEGRADED = "degraded"


class _Inbox:
    """The relay's news for one dashboard. Whether Realtime is live is kept apart from the
    broadcasts: a dashboard that cannot keep up drops its oldest broadcasts (it only needs to
    know something changed), never a READY or DEGRADED. Those come at most once per join
    attempt (the hub pauses between them), so their list stays short."""

    def __init__(self) -> None:
        self.states: deque[bool] = deque()
        self.news: deque[tuple[str, dict[str, Any]]] = deque(maxlen=1000)
        self.stirred = asyncio.Event()

    def joined(self) -> None:
        self.states.append(True)
        self.stirred.set()

    def broadcast(self, event: str, payload: dict[str, Any]) -> None:
        self.news.append((event, payload))
        self.stirred.set()

    def lost(self, error: Exception | None) -> None:
        if error is not None:
            log.warning(
                "staff feed: realtime unavailable, polling",
                extra={
                    "action": "staff.live_degraded",
                    "error": f"{type(error).__name__}: {error}",
                },
            )
        self.states.append(False)
        self.stirred.set()


async def stream(state: PortalState, viewer: Viewer, request: Request) -> AsyncIterator[str]:
    expires_at = token_expires_at(viewer)
    inbox = _Inbox()
    async with relaying(state, FEED, inbox):
        # The browser retries after 2 s when the stream ends or breaks.
        yield "retry: 2000\n\n"
        live: bool | None = None
        while True:
            if live is not None:
                if await request.is_disconnected():
                    return
                if time.time() >= expires_at - 5:
                    # The token the channel was joined with is about to expire: end the stream;
                    # the browser reconnects and the session middleware hands out a fresh one.
                    yield sse("reauth", {})
                    return
            inbox.stirred.clear()
            while inbox.states:
                now_live = inbox.states.popleft()
                if now_live is live:
                    continue  # a failed rejoin while degraded is not news
                live = now_live
                yield sse(READY if live else DEGRADED, {"live": live})
            while live is not None and inbox.news:
                event, payload = inbox.news.popleft()
                yield sse(event, payload)
            if live is None:
                # The first word is READY or DEGRADED: the relay hears nothing before the
                # join, gives up on one after its join timeout, and says DEGRADED at once
                # while it pauses between attempts.
                await inbox.stirred.wait()
                continue
            try:
                wait = KEEPALIVE_SECONDS if live else POLL_SECONDS
                await asyncio.wait_for(inbox.stirred.wait(), timeout=wait)
            except TimeoutError:
                yield ": keepalive\n\n" if live else sse("tick", {})
