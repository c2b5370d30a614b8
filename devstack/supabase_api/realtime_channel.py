"""A joined channel: the token it was authorised with, and what reaches it."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from devstack.supabase_api import realtime_protocol as wire
from devstack.supabase_api.realtime_hub import BroadcastRow


class ChannelOwner(Protocol):
    """The socket a channel lives on (realtime_socket.Session)."""

    def send(self, frame: str) -> None: ...

    def owns(self, channel: Channel) -> bool: ...

    def shut_down(self, channel: Channel, message: str) -> None: ...


class Channel:
    """One joined `realtime:<topic>` on one socket, with the token it was authorised with."""

    def __init__(
        self,
        session: ChannelOwner,
        message: wire.ClientMessage,
        *,
        private: bool,
        token: str,
        claims: dict[str, Any],
    ) -> None:
        self.session = session
        self.topic = message.topic
        self.name = message.topic.removeprefix(wire.CHANNEL_PREFIX)
        self.join_ref = message.join_ref or message.ref
        self.private = private
        self.token = token
        self.claims = claims
        self._expiry: asyncio.TimerHandle | None = None
        self._arm_expiry()

    def deliver(self, row: BroadcastRow) -> None:
        # Private rows only to private joins, public rows only to public joins (Realtime keeps
        # them on separate internal topics).
        if row.private != self.private:
            return
        if self._seconds_left() <= 0:
            self.session.shut_down(self, self._expired_message())
            return
        self.session.send(wire.broadcast(self.topic, row.event, row.payload, row.id))

    def renew(self, token: str, claims: dict[str, Any]) -> None:
        self.token, self.claims = token, claims
        self._arm_expiry()

    def dispose(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def _seconds_left(self) -> float:
        return float(self.claims["exp"]) - time.time()

    def _expired_message(self) -> str:
        return f"Token has expired {max(0, int(-self._seconds_left()))} seconds ago"

    def _arm_expiry(self) -> None:
        # Realtime re-checks the token when it expires and shuts the channel if it has not
        # been refreshed; the check at delivery covers the moments before this timer fires.
        self.dispose()
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(max(0.0, self._seconds_left()), self._on_expiry)

    def _on_expiry(self) -> None:
        self._expiry = None
        if self.session.owns(self):
            self.session.shut_down(self, self._expired_message())
