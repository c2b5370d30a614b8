"""`/realtime/v1/websocket`: Supabase Realtime's Phoenix socket, for broadcast channels.

What a socket can do, as wide as DirectoryBolt uses it:
- connect with `?apikey=<anon or service_role key>&vsn=1.0.0` (anything else: HTTP 403);
- `heartbeat` on topic `phoenix` (a socket silent for `idle_timeout_seconds` is closed);
- `phx_join` a `realtime:<topic>` channel, public or private; a private join is authorised
  by the RLS probe in realtime_auth, once per join (Realtime caches the result per join);
- `access_token` with a fresh token: verified and re-authorised, or the channel is shut;
- `phx_leave`; and receive `broadcast` pushes for rows committed to `realtime.messages`.
A channel whose token expires is shut down with a `system` error and `phx_close`, as
Realtime does. Client broadcasts, presence and postgres_changes are not relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from devstack import jwt_keys
from devstack.supabase_api import realtime_protocol as wire
from devstack.supabase_api.realtime_auth import AuthorisationUnavailable, can_read
from devstack.supabase_api.realtime_channel import Channel
from devstack.supabase_api.runtime import Runtime, RuntimeDep

log = logging.getLogger(__name__)

router = APIRouter()

SUPPORTED_VSN = "1.0.0"
API_KEY_ROLES = frozenset({"anon", "service_role"})
# Realtime's error codes for a token it will not accept, prefixed to the join-refusal reason.
_TOKEN_ERROR_CODES = {
    "expired": "InvalidJWTToken",
    "missing_claims": "InvalidJWTToken",
    "bad_signature": "JwtSignatureError",
    "malformed": "MalformedJWT",
}
_DATABASE_UNAVAILABLE = "Realtime was unable to connect to the project database"
_UNSUPPORTED = "is not supported by the devstack Realtime stand-in (broadcast from database only)"


class JoinRefused(Exception):
    """Realtime's refusal: `code` names the kind, `message` says what happened."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reason = f"{code}: {message}"


class Session:
    """One websocket: reads client frames in order, writes queued frames in order."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, apikey: str) -> None:
        self._ws = websocket
        self._runtime = runtime
        self._apikey = apikey
        self._channels: dict[str, Channel] = {}
        self._outbox: asyncio.Queue[str] = asyncio.Queue(runtime.settings.outbox_limit)
        self._overflowed = asyncio.Event()

    # -- running ------------------------------------------------------------------------
    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._read_frames()),
            asyncio.create_task(self._write_frames()),
            asyncio.create_task(self._overflowed.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in list(self._channels.values()):
                self._drop(channel)
            if self._ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self._ws.close()

    async def _read_frames(self) -> None:
        idle_timeout = self._runtime.settings.idle_timeout_seconds
        while True:
            try:
                message = await asyncio.wait_for(self._ws.receive(), idle_timeout)
            except TimeoutError:
                log.info("closing a silent socket", extra={"action": "realtime.socket_idle"})
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                log.info("ignored a binary frame", extra={"action": "realtime.frame_ignored"})
                continue
            await self._handle_text(text)

    async def _write_frames(self) -> None:
        while True:
            frame = await self._outbox.get()
            await self._ws.send_text(frame)

    def send(self, frame: str) -> None:
        try:
            self._outbox.put_nowait(frame)
        except asyncio.QueueFull:
            # A client that stops reading must not grow our memory without bound.
            log.warning("closing a slow consumer", extra={"action": "realtime.slow_consumer"})
            self._overflowed.set()

    def owns(self, channel: Channel) -> bool:
        return self._channels.get(channel.topic) is channel

    # -- dispatch -----------------------------------------------------------------------
    async def _handle_text(self, text: str) -> None:
        try:
            message = wire.parse(text)
        except wire.ProtocolError as error:
            log.info(
                "ignored a malformed frame",
                extra={"action": "realtime.frame_malformed", "error": str(error)},
            )
            return
        if message.topic == wire.PHOENIX_TOPIC:
            if message.event == "heartbeat":
                self.send(wire.ok_reply(wire.PHOENIX_TOPIC, message.ref))
            return
        if message.event == "phx_join":
            await self._join(message)
            return
        channel = self._channels.get(message.topic)
        if channel is None:
            # Phoenix's answer to anything sent to a topic this socket has not joined.
            self.send(wire.error_reply(message.topic, message.ref, "unmatched topic"))
            return
        await self._handle_channel_message(channel, message)

    async def _handle_channel_message(self, channel: Channel, message: wire.ClientMessage) -> None:
        if message.event == "phx_leave":
            self.send(wire.ok_reply(message.topic, message.ref))
            self.send(wire.close(channel.topic, channel.join_ref))
            self._drop(channel)
            log.info("left", extra={"action": "realtime.left", "topic": channel.name})
        elif message.event == "access_token":
            await self._refresh(channel, message.payload.get("access_token"))
        elif message.event in ("broadcast", "presence"):
            reason = f"client {message.event} {_UNSUPPORTED}"
            self.send(wire.error_reply(message.topic, message.ref, reason))
        else:
            log.info(
                "ignored an unexpected client event",
                extra={"action": "realtime.event_ignored", "event": message.event},
            )

    # -- joining ------------------------------------------------------------------------
    async def _join(self, message: wire.ClientMessage) -> None:
        if not message.topic.startswith(wire.CHANNEL_PREFIX):
            self.send(wire.error_reply(message.topic, message.ref, "unmatched topic"))
            return
        try:
            channel = await self._authorised_channel(message)
        except JoinRefused as refusal:
            self.send(wire.error_reply(message.topic, message.ref, refusal.reason))
            log.warning(
                "join refused",
                extra={
                    "action": "realtime.join_refused",
                    "topic": message.topic.removeprefix(wire.CHANNEL_PREFIX),
                    "reason": refusal.reason,
                },
            )
            return
        previous = self._channels.get(channel.topic)
        if previous is not None:
            self._drop(previous)
        # Reply before registering: no await in between, so the reply precedes any broadcast.
        self.send(wire.ok_reply(message.topic, message.ref, {"postgres_changes": []}))
        self._channels[channel.topic] = channel
        self._runtime.hub.add(channel.name, channel)
        log.info(
            "joined",
            extra={
                "action": "realtime.joined",
                "topic": channel.name,
                "private": channel.private,
                "role": channel.claims.get("role"),
                "sub": channel.claims.get("sub"),
            },
        )

    async def _authorised_channel(self, message: wire.ClientMessage) -> Channel:
        name = message.topic.removeprefix(wire.CHANNEL_PREFIX)
        if not name:
            raise JoinRefused("TopicNameRequired", "You must provide a topic name")
        config = message.payload.get("config")
        config = config if isinstance(config, dict) else {}
        if config.get("postgres_changes"):
            raise JoinRefused("Unsupported", f"postgres_changes {_UNSUPPORTED}")
        private = config.get("private") is True
        # Realtime falls back to the socket's API key when a join carries no access token.
        token = message.payload.get("access_token") or self._apikey
        if not isinstance(token, str):
            raise JoinRefused("MalformedJWT", "The token provided is not a valid JWT")
        claims = _verified_claims(token)
        if private:
            await self._authorise_read(name, claims, refusal="You do not have permissions")
        return Channel(self, message, private=private, token=token, claims=claims)

    async def _authorise_read(self, name: str, claims: dict[str, Any], *, refusal: str) -> None:
        try:
            allowed = await can_read(self._runtime.pool, name, claims)
        except AuthorisationUnavailable as error:
            log.error(
                "cannot authorise: database unavailable",
                extra={"action": "realtime.authorisation_unavailable", "error": str(error)},
            )
            raise JoinRefused("UnableToConnectToProject", _DATABASE_UNAVAILABLE) from error
        if not allowed:
            raise JoinRefused("Unauthorized", f"{refusal} to read from this Channel topic: {name}")

    # -- token refresh and shutdown -------------------------------------------------------
    async def _refresh(self, channel: Channel, token: object) -> None:
        # Like Realtime: ignore an absent or unchanged token and new-style `sb_` keys.
        if not isinstance(token, str) or token == channel.token or token.startswith("sb_"):
            return
        try:
            claims = _verified_claims(token)
            if channel.private:
                await self._authorise_read(
                    channel.name, claims, refusal="You no longer have permission"
                )
        except JoinRefused as refusal:
            if self.owns(channel):
                self.shut_down(channel, refusal.message)
            return
        if self.owns(channel):  # it may have expired while the probe ran
            channel.renew(token, claims)
            log.info(
                "token refreshed",
                extra={"action": "realtime.token_refreshed", "topic": channel.name},
            )

    def shut_down(self, channel: Channel, message: str) -> None:
        """End a channel as Realtime does: a `system` error naming why, then `phx_close`."""
        self.send(wire.system(channel.topic, status="error", message=message, channel=channel.name))
        self.send(wire.close(channel.topic, channel.join_ref))
        self._drop(channel)
        log.warning(
            "channel shut down",
            extra={"action": "realtime.channel_shutdown", "topic": channel.name, "reason": message},
        )

    def _drop(self, channel: Channel) -> None:
        channel.dispose()
        self._runtime.hub.remove(channel.name, channel)
        if self.owns(channel):
            del self._channels[channel.topic]


def _verified_claims(token: str) -> dict[str, Any]:
    try:
        return jwt_keys.verify(token)
    except jwt_keys.TokenError as error:
        raise JoinRefused(_TOKEN_ERROR_CODES[error.code], error.message) from error


def _api_key_refusal(apikey: str | None) -> str | None:
    """Why the socket's API key is not acceptable, or None when it is."""
    if not apikey:
        return "apikey missing"
    try:
        claims = jwt_keys.verify(apikey)
    except jwt_keys.TokenError as error:
        return error.message
    if claims["role"] not in API_KEY_ROLES:
        return f"apikey role {claims['role']!r} is not an API key role"
    return None


@router.websocket("/realtime/v1/websocket")
async def realtime_websocket(websocket: WebSocket, runtime: RuntimeDep) -> None:
    apikey = websocket.query_params.get("apikey") or websocket.headers.get("x-api-key")
    vsn = websocket.query_params.get("vsn", SUPPORTED_VSN)
    refusal = _api_key_refusal(apikey)
    if refusal is None and vsn != SUPPORTED_VSN:
        refusal = f"vsn {vsn!r} is not supported; use {SUPPORTED_VSN}"
    if refusal is not None or apikey is None:
        # Closing before accepting makes the server answer the upgrade with HTTP 403, as a
        # Phoenix socket whose connect/3 fails does.
        log.warning(
            "socket refused", extra={"action": "realtime.socket_refused", "reason": refusal}
        )
        await websocket.close(code=1008)
        return
    await websocket.accept()
    log.info("socket connected", extra={"action": "realtime.socket_connected"})
    runtime.open_sockets += 1
    try:
        await Session(websocket, runtime, apikey).run()
    finally:
        runtime.open_sockets -= 1
    log.info("socket closed", extra={"action": "realtime.socket_closed"})
