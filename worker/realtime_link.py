"""Supabase Realtime for the worker: wake-ups on private topic `jobs`, and pause / cancel /
resume on `job:<id>` of the current job. When Realtime is unreachable the worker polls,
and says so in its log and health.

The link keeps itself up. A drop is noticed three ways: the socket closes (the `jobs`
channel reports an error), the server closes or errors the channel, or the heartbeat — a
websocket ping every `heartbeat_seconds` — gets no pong within as long (a server that hangs
or a path that silently died, where no close ever arrives). Then `connected` turns false, the
worker is told (it falls back to its short poll), and the link reconnects and rejoins on its
own with jittered backoff until it is back. The `realtime` client's own reconnect is off: it
gives up after five tries and leaves the client dead, so this module owns the retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable
from typing import Any

import websockets
from realtime import AsyncRealtimeChannel, AsyncRealtimeClient
from realtime.types import BroadcastPayload, RealtimeChannelOptions

from dbolt.log import scrub

log = logging.getLogger(__name__)
PRIVATE: RealtimeChannelOptions = {"config": {"private": True, "broadcast": {"self": False}}}  # type: ignore[typeddict-item]

# Told whenever the link comes up (True) or goes down (False), with the last error if any.
OnChange = Callable[[bool, str | None], None]
# Told of pause / cancel / resume: the job the event is for, and the event.
OnControl = Callable[[str, str], None]


class RealtimeLink:
    def __init__(
        self,
        supabase_url: str,
        anon_key: str | None,
        access_token: str | None,
        *,
        heartbeat_seconds: float = 10.0,
        retry_min_seconds: float = 1.0,
        retry_max_seconds: float = 30.0,
        join_timeout_seconds: float = 10.0,
    ) -> None:
        self.url = supabase_url.rstrip("/") + "/realtime/v1"
        self.anon_key = anon_key
        self.access_token = access_token
        self.heartbeat_seconds = heartbeat_seconds
        self.retry_min_seconds = retry_min_seconds
        self.retry_max_seconds = retry_max_seconds
        self.join_timeout_seconds = join_timeout_seconds
        self.client: AsyncRealtimeClient | None = None
        self.job_channel: AsyncRealtimeChannel | None = None
        self.connected = False
        self.last_error: str | None = None
        self._on_job_available: Callable[[], None] = lambda: None
        self._on_change: OnChange = lambda _up, _error: None
        # Set by whatever notices the drop first; the keeper reconnects.
        self._lost = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._watched: tuple[str, OnControl] | None = None
        # watch / unwatch / rewatch one at a time: the keeper's rewatch of an old job must
        # not overwrite (and leak) the channel of the next one.
        self._watch_lock = asyncio.Lock()
        # Set by close(): a CLOSED callback from our own close is not a drop to report.
        self._closing = False

    def _error(self, error: BaseException | str) -> str:
        """An error as told to logs and /healthz: websockets' errors quote the URL, and
        realtime puts `?apikey=<anon key>` in it."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return scrub(text, [secret for secret in (self.anon_key, self.access_token) if secret])

    @property
    def configured(self) -> bool:
        return bool(self.anon_key and self.access_token)

    async def _subscribe(
        self,
        topic: str,
        events: dict[str, Callable[[BroadcastPayload], None]],
        on_lost: Callable[[str], None] | None = None,
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
            elif error is not None or any(
                word in str(state) for word in ("ERROR", "CLOSED", "TIMED_OUT")
            ):
                reason = f"{state}: {error}"
                if joined.is_set():
                    # After the join: the socket or the channel went away.
                    if on_lost is not None:
                        on_lost(f"{topic} {reason}")
                else:
                    failure.append(reason)
                    joined.set()

        await channel.subscribe(on_state)
        await asyncio.wait_for(joined.wait(), timeout=self.join_timeout_seconds)
        if failure:
            raise ConnectionError(f"could not join {topic}: {failure[0]}")
        return channel

    async def connect(
        self, on_job_available: Callable[[], None], on_change: OnChange | None = None
    ) -> bool:
        """Join `jobs` now (False, and polling, when Realtime is not configured or not
        reachable), then keep the link up in the background: reconnect after any drop."""
        self._on_job_available = on_job_available
        if on_change is not None:
            self._on_change = on_change
        if not self.configured:
            self.last_error = "not configured (SUPABASE_ANON_KEY, REALTIME_ACCESS_TOKEN)"
            return False
        joined = await self._join()
        if not joined:
            log.warning(
                "realtime unreachable; polling for jobs instead",
                extra={"action": "realtime.unavailable", "error": self.last_error},
            )
            self._lost.set()
        self._keeper = asyncio.create_task(self._keep_up(), name="realtime-keeper")
        self._keeper.add_done_callback(_keeper_ended)
        return joined

    async def _join(self) -> bool:
        """One attempt: a fresh client, joined to `jobs`. True when listening."""
        self._lost.clear()
        token = self.access_token
        try:
            # Our keeper retries; the client's own reconnect would give up and go quiet.
            # Its timeout bounds the socket's opening and each join's wait for an answer.
            self.client = AsyncRealtimeClient(
                self.url,
                self.anon_key,
                auto_reconnect=False,
                timeout=math.ceil(self.join_timeout_seconds),
            )
            await self.client.connect()
            await self.client.set_auth(token)
            await self._subscribe(
                "jobs",
                {"job_available": lambda _payload: self._on_job_available()},
                on_lost=self._lose,
            )
            if self.access_token != token:
                # Refreshed while we joined: update_token skipped it (not yet connected).
                await self.client.set_auth(self.access_token)
        except Exception as error:  # any failure means: poll meanwhile and retry
            self.last_error = self._error(error)
            await self._drop_client()
            return False
        if self._lost.is_set():
            # Closed between the join's ack and here: not listening after all.
            await self._drop_client()
            return False
        self.connected, self.last_error = True, None
        log.info("listening for jobs on realtime", extra={"action": "realtime.connected"})
        return True

    def _lose(self, reason: str) -> None:
        if self._lost.is_set() or self._closing:
            return
        reason = self._error(reason)
        self.connected, self.last_error = False, reason
        self._lost.set()
        log.warning(
            "realtime dropped; polling for jobs until it is back",
            extra={"action": "realtime.lost", "error": reason},
        )
        self._on_change(False, reason)

    async def _keep_up(self) -> None:
        """Forever: hold the link while it lives, rebuild it when it drops. Failures are
        logged and retried with backoff; the worker polls meanwhile (it was told)."""
        delay = self.retry_min_seconds
        while True:
            try:
                delay = await self._keep_up_once(delay)
            except Exception as error:  # a keeper that dies leaves the worker polling for good
                log.exception("realtime keeper failed", extra={"action": "realtime.keeper_failed"})
                self._lose(f"{type(error).__name__}: {error}")
                with contextlib.suppress(Exception):
                    await self._drop_client()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)

    async def _keep_up_once(self, delay: float) -> float:
        """Hold the link until it drops (if it is up), then one reconnect attempt after the
        backoff; returns the next backoff."""
        if not self._lost.is_set():
            try:
                await self._hold()
            except Exception as error:  # whatever broke, the link is treated as dropped
                log.exception("realtime keeper failed", extra={"action": "realtime.keeper_failed"})
                self._lose(f"{type(error).__name__}: {error}")
            await self._drop_client()
            delay = self.retry_min_seconds
        await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 — jitter
        if await self._join():
            log.info("realtime is back", extra={"action": "realtime.reconnected"})
            self._on_change(True, None)
            await self._rewatch()
            return delay
        log.info(
            "realtime still unreachable",
            extra={
                "action": "realtime.reconnect_failed",
                "error": self.last_error,
                "retry_in": delay,
            },
        )
        return min(delay * 2, self.retry_max_seconds)

    async def _hold(self) -> None:
        """Until the link drops: ping every heartbeat; no pong in time is a drop."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.heartbeat_seconds)
                return
            if not await self._pong():
                self._lose(f"no heartbeat reply within {self.heartbeat_seconds:g} s")

    async def _pong(self) -> bool:
        client = self.client
        socket = client._ws_connection if client is not None else None
        if socket is None:
            return False
        try:
            waiter = await socket.ping()
            await asyncio.wait_for(waiter, self.heartbeat_seconds)
        except (TimeoutError, websockets.exceptions.ConnectionClosed, RuntimeError):
            # RuntimeError: websockets' ConcurrencyError, a ping still unanswered.
            return False
        return True

    async def _drop_client(self) -> None:
        client, self.client = self.client, None
        self.connected, self.job_channel = False, None
        if client is None:
            return
        for channel in client.get_channels():
            # The channel's own rejoin timer would fire on a socket we are throwing away.
            channel.rejoin_timer.reset()
        try:
            # Shielded: a keeper cancelled mid-close must not leave the socket open.
            await asyncio.shield(client.close())
        except Exception:  # closing a dead socket is best effort
            log.debug("close failed", extra={"action": "realtime.close_failed"})

    async def update_token(self, token: str) -> None:
        """A refreshed access token: Realtime re-checks it on every joined channel; the
        next reconnect joins with it."""
        self.access_token = token
        if self.client is not None and self.connected:
            try:
                await self.client.set_auth(token)
            except Exception as error:  # a dying socket: the keeper rejoins with the token
                log.warning(
                    "could not pass the new token to realtime",
                    extra={"action": "realtime.set_auth_failed", "error": str(error)},
                )

    async def watch_job(self, job_id: str, on_control: OnControl) -> None:
        """Follow pause / cancel / resume of the job being worked (again after a reconnect)."""
        async with self._watch_lock:
            self._watched = (job_id, on_control)
            await self._rewatch_locked()

    async def _rewatch(self) -> None:
        async with self._watch_lock:
            await self._rewatch_locked()

    async def _rewatch_locked(self) -> None:
        if self._watched is None or not self.connected:
            return
        job_id, on_control = self._watched
        try:
            self.job_channel = await self._subscribe(
                f"job:{job_id}",
                {
                    event: _control_callback(on_control, job_id, event)
                    for event in ("paused", "cancelled", "resumed")
                },
            )
        except Exception as error:
            # Whatever realtime raised (a 503 mid-restart, DNS, "subscribe multiple times"),
            # the job goes on: the lease check still catches a pause, as the next heartbeat
            # or report is refused.
            log.warning(
                "could not follow the job on realtime",
                extra={"action": "realtime.job_join_failed", "error": self._error(error)},
            )

    async def unwatch_job(self) -> None:
        async with self._watch_lock:
            self._watched = None
            if self.job_channel is not None:
                channel, self.job_channel = self.job_channel, None
                try:
                    await channel.unsubscribe()
                except Exception:  # leaving a channel on a dying socket is best effort
                    log.debug("leave failed", extra={"action": "realtime.leave_failed"})

    async def close(self) -> None:
        self._closing = True
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        await self._drop_client()


def _control_callback(
    on_control: OnControl, job_id: str, event: str
) -> Callable[[BroadcastPayload], None]:
    def callback(_payload: BroadcastPayload) -> None:
        on_control(job_id, event)

    return callback


def _keeper_ended(task: asyncio.Task[None]) -> None:
    """The keeper runs until close(); ending any other way leaves Realtime down for good."""
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "realtime keeper died; polling for jobs from now on",
            exc_info=task.exception(),
            extra={"action": "realtime.keeper_died"},
        )
