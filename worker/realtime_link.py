"""Supabase Realtime for the worker: wake-ups on private topic `jobs`, and pause / cancel /
resume on `job:<id>` of the current job. When Realtime is unreachable the worker polls,
and says so in its log and health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from realtime import AsyncRealtimeChannel, AsyncRealtimeClient
from realtime.types import BroadcastPayload, RealtimeChannelOptions

log = logging.getLogger(__name__)
PRIVATE: RealtimeChannelOptions = {"config": {"private": True, "broadcast": {"self": False}}}  # type: ignore[typeddict-item]


class RealtimeLink:
    def __init__(self, supabase_url: str, anon_key: str | None, access_token: str | None) -> None:
        self.url = supabase_url.rstrip("/") + "/realtime/v1"
        self.anon_key = anon_key
        self.access_token = access_token
        self.client: AsyncRealtimeClient | None = None
        self.job_channel: AsyncRealtimeChannel | None = None
        self.connected = False
        self.last_error: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.anon_key and self.access_token)

    async def _subscribe(
        self, topic: str, events: dict[str, Callable[[BroadcastPayload], None]]
    ) -> AsyncRealtimeChannel:
        assert self.client is not None
        channel = self.client.channel(topic, PRIVATE)
        for event, callback in events.items():
            channel.on_broadcast(event, callback)
        joined = asyncio.Event()
        failure: list[str] = []

        def on_state(state: Any, error: Exception | None = None) -> None:
            if str(state).endswith("SUBSCRIBED"):
                joined.set()
            elif error is not None or "ERROR" in str(state) or "CLOSED" in str(state):
                failure.append(f"{state}: {error}")
                joined.set()

        await channel.subscribe(on_state)
        await asyncio.wait_for(joined.wait(), timeout=10)
        if failure:
            raise ConnectionError(f"could not join {topic}: {failure[0]}")
        return channel

    async def connect(self, on_job_available: Callable[[], None]) -> bool:
        """Join `jobs`; False (and polling) when Realtime is not configured or reachable."""
        if not self.configured:
            self.last_error = "not configured (SUPABASE_ANON_KEY, REALTIME_ACCESS_TOKEN)"
            return False
        try:
            self.client = AsyncRealtimeClient(self.url, self.anon_key, auto_reconnect=True)
            await self.client.connect()
            await self.client.set_auth(self.access_token)
            await self._subscribe("jobs", {"job_available": lambda _payload: on_job_available()})
        except (
            OSError,
            ConnectionError,
            TimeoutError,
            Exception,
        ) as error:  # any failure means: poll instead
            self.last_error = f"{type(error).__name__}: {error}"
            log.warning(
                "realtime unreachable; polling for jobs instead",
                extra={"action": "realtime.unavailable", "error": self.last_error},
            )
            await self.close()
            return False
        self.connected, self.last_error = True, None
        log.info("listening for jobs on realtime", extra={"action": "realtime.connected"})
        return True

    async def update_token(self, token: str) -> None:
        """A refreshed access token: Realtime re-checks it on every joined channel."""
        self.access_token = token
        if self.client is not None:
            await self.client.set_auth(token)

    async def watch_job(self, job_id: str, on_control: Callable[[str], None]) -> None:
        """Follow pause / cancel / resume of the job being worked."""
        if not self.connected:
            return
        try:
            self.job_channel = await self._subscribe(
                f"job:{job_id}",
                {
                    event: _control_callback(on_control, event)
                    for event in ("paused", "cancelled", "resumed")
                },
            )
        except (ConnectionError, TimeoutError) as error:
            # The lease check still catches a pause: the next heartbeat or report is refused.
            log.warning(
                "could not follow the job on realtime",
                extra={"action": "realtime.job_join_failed", "error": str(error)},
            )

    async def unwatch_job(self) -> None:
        if self.job_channel is not None:
            channel, self.job_channel = self.job_channel, None
            try:
                await channel.unsubscribe()
            except Exception:  # leaving a channel on a dying socket is best effort
                log.debug("leave failed", extra={"action": "realtime.leave_failed"})

    async def close(self) -> None:
        client, self.client = self.client, None
        self.connected = False
        if client is not None:
            try:
                await client.close()
            except Exception:  # closing is best effort
                log.debug("close failed", extra={"action": "realtime.close_failed"})


def _control_callback(
    on_control: Callable[[str], None], event: str
) -> Callable[[BroadcastPayload], None]:
    def callback(_payload: BroadcastPayload) -> None:
        on_control(event)

    return callback
