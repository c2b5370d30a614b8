"""One Supabase Realtime connection per portal process, shared by every open stream.

Hosted Realtime counts concurrent connections (Pro 500, Team 10,000) and allows 100 channels
per connection, so a socket per open job page or dashboard does not scale. The hub holds one
socket, joins a topic when its first listener arrives and leaves it when its last one goes
(the socket closes with the last topic), and hands each broadcast to every listener of its
topic in-process. It joins with the service-role key: which viewer hears what is decided
here, not by Realtime — a customer's stream only wakes on its own job and re-reads it under
the customer's JWT (portal.jobs.live); only staff reach the staff stream (portal.staff).

When the socket or a channel is lost, every listener hears `lost` and the hub connects again
after a pause that doubles up to a ceiling; listeners hear `joined` when their topic is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

from realtime import AsyncRealtimeChannel, AsyncRealtimeClient, RealtimeSubscribeStates
from realtime.types import BroadcastPayload, RealtimeChannelOptions

from portal.realtime import JOIN_TIMEOUT_SECONDS, RealtimeSettings, RealtimeUnavailable

log = logging.getLogger(__name__)

HUB_EXTRA = "portal.realtime_hub"
# The one topic the hub joins (every job's changes); it joins as the service role.
STAFF_TOPIC = "staff"


class Listener(Protocol):
    def joined(self) -> None: ...

    def broadcast(self, event: str, payload: dict[str, Any]) -> None: ...

    def lost(self, error: Exception | None) -> None: ...


class HubSettings(RealtimeSettings, Protocol):
    @property
    def supabase_service_role_key(self) -> Any: ...  # SecretStr


def _options() -> RealtimeChannelOptions:
    options: Any = {"config": {"private": True, "broadcast": {"self": False, "ack": False}}}
    return options  # type: ignore[no-any-return]


class RealtimeHub:
    def __init__(
        self, settings: HubSettings, rejoin_seconds: float = 1.0, rejoin_max_seconds: float = 60.0
    ) -> None:
        self._settings = settings
        self._rejoin = (rejoin_seconds, rejoin_max_seconds)
        self._listeners: defaultdict[str, set[Listener]] = defaultdict(set)
        self._joined: set[str] = set()
        # Who hears a broadcast: every listener of the topic that asked for all of it, and
        # the listeners of the one job it is about (a dict look-up, not one call per viewer).
        self._for_all: defaultdict[str, set[Listener]] = defaultdict(set)
        self._for_job: defaultdict[str, set[Listener]] = defaultdict(set)
        self._changed = asyncio.Event()
        # Why the socket was last lost: told at once to a listener arriving during the pause.
        self._last_error: Exception | None = None
        self._delay = rejoin_seconds
        self._task: asyncio.Task[None] | None = None

    # -- for streams ---------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def listening(
        self, topic: str, listener: Listener, job_id: str | None = None
    ) -> AsyncIterator[None]:
        """`listener` hears `topic` while the block runs: its broadcasts about `job_id` only,
        when given. The hub joins with the service role, so it joins only the one topic it
        is for: any other is refused."""
        if topic != STAFF_TOPIC:
            raise ValueError(f"the realtime hub does not join {topic!r}")
        hearers = self._for_all[topic] if job_id is None else self._for_job[job_id]
        hearers.add(listener)
        self._listeners[topic].add(listener)
        if topic in self._joined:
            listener.joined()
        elif self._last_error is not None:
            # Realtime is lost and the hub is pausing before it tries again: say so now, so
            # the listener polls meanwhile instead of waiting for a word that may be a minute off.
            listener.lost(self._last_error)
        self._changed.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="portal-realtime-hub")
        try:
            yield
        finally:
            hearers.discard(listener)
            key = topic if job_id is None else job_id
            index = self._for_all if job_id is None else self._for_job
            if not index.get(key, True):
                del index[key]
            listeners = self._listeners.get(topic)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[topic]
            self._changed.set()

    @property
    def pause_seconds(self) -> float:
        """The pause before the next join attempt, should the socket be lost now."""
        return self._delay

    def topics(self) -> set[str]:
        return set(self._joined)

    async def aclose(self) -> None:
        self._listeners.clear()
        self._for_all.clear()
        self._for_job.clear()
        self._changed.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- the one socket ------------------------------------------------------------------
    async def _run(self) -> None:
        """Background loop while anyone listens: it catches, logs and continues (a lost
        socket is reported to the listeners, and joined again after a pause)."""
        self._delay = self._rejoin[0]
        while self._listeners:
            try:
                await self._connected()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._last_error = error
                self._lose(error)
                log.warning(
                    "realtime hub lost its socket; joining again",
                    extra={"action": "portal.realtime_hub_lost", "error": str(error)},
                )
                await asyncio.sleep(self._delay)
                # A channel that reaches SUBSCRIBED sets the pause back (see _join).
                self._delay = min(self._delay * 2, self._rejoin[1])
            else:
                self._delay = self._rejoin[0]

    def _lose(self, error: Exception | None) -> None:
        self._joined.clear()
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                listener.lost(error)

    async def _connected(self) -> None:
        key = self._settings.supabase_service_role_key.get_secret_value()
        if not key:
            raise RealtimeUnavailable("no service-role key (SUPABASE_SERVICE_ROLE_KEY)")
        url = self._settings.supabase_url.rstrip("/") + "/realtime/v1"
        # The anon key opens the socket, as supabase-py does; the service-role key joins.
        anon_key = self._settings.supabase_anon_key.get_secret_value()
        client = AsyncRealtimeClient(url, anon_key or None, auto_reconnect=False)
        failures: asyncio.Queue[Exception] = asyncio.Queue()
        channels: dict[str, AsyncRealtimeChannel] = {}
        try:
            await asyncio.wait_for(client.connect(), JOIN_TIMEOUT_SECONDS)
            await client.set_auth(key)
            while self._listeners:
                self._changed.clear()
                for topic in set(self._listeners) - set(channels):
                    channels[topic] = await self._join(client, topic, failures)
                for topic in set(channels) - set(self._listeners):
                    channel = channels.pop(topic)
                    self._joined.discard(topic)
                    await channel.unsubscribe()
                    # Not remove_channel: it closes the socket with the last channel.
                    client._remove_channel(channel)
                changed = asyncio.create_task(self._changed.wait())
                failed = asyncio.create_task(failures.get())
                try:
                    done, _ = await asyncio.wait(
                        {changed, failed}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:  # also when the hub is cancelled while waiting
                    changed.cancel()
                    failed.cancel()
                    await asyncio.gather(changed, failed, return_exceptions=True)
                if failed in done:
                    raise failed.result()
        finally:
            self._joined.clear()
            with contextlib.suppress(Exception):  # closing a dead socket is best effort
                await client.close()

    async def _join(
        self, client: AsyncRealtimeClient, topic: str, failures: asyncio.Queue[Exception]
    ) -> AsyncRealtimeChannel:
        joined = asyncio.Event()

        def on_broadcast(message: BroadcastPayload) -> None:
            payload = message.get("payload") or {}
            event = str(message.get("event", ""))
            if not isinstance(payload, dict):
                payload = {}
            hearers = list(self._for_all.get(topic, ()))
            hearers += self._for_job.get(str(payload.get("job_id")), ())
            for listener in hearers:
                listener.broadcast(event, payload)

        def on_state(state: RealtimeSubscribeStates, error: Exception | None = None) -> None:
            if state == RealtimeSubscribeStates.SUBSCRIBED:
                # Back on Realtime: the next drop starts again from the shortest pause.
                self._delay = self._rejoin[0]
                self._last_error = None
                self._joined.add(topic)
                joined.set()
                for listener in list(self._listeners.get(topic, ())):
                    listener.joined()
            elif topic in self._listeners:
                failures.put_nowait(RealtimeUnavailable(f"{topic}: {state.value}: {error}"))
                joined.set()

        channel = client.channel(topic, _options())
        channel.on_broadcast("*", on_broadcast)
        await channel.subscribe(on_state)
        try:
            await asyncio.wait_for(joined.wait(), JOIN_TIMEOUT_SECONDS)
        except TimeoutError:
            raise RealtimeUnavailable(f"no answer to joining {topic}") from None
        return channel


def hub_of(extras: dict[str, object], settings: HubSettings) -> RealtimeHub:
    """The process's hub (one per portal app), made on first use."""
    hub = extras.get(HUB_EXTRA)
    if hub is None:
        hub = extras[HUB_EXTRA] = RealtimeHub(settings)
    assert isinstance(hub, RealtimeHub)
    return hub
