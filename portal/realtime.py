"""What the portal's Realtime socket (portal.realtime_hub) needs: the settings it reads, how
long a join may take, and the error that means "not live"."""

from __future__ import annotations

from typing import Any, Protocol

JOIN_TIMEOUT_SECONDS = 10.0


class RealtimeSettings(Protocol):
    """What the hub needs of a settings object (PortalSettings has these)."""

    @property
    def supabase_url(self) -> str: ...

    @property
    def supabase_anon_key(self) -> Any: ...  # SecretStr


class RealtimeUnavailable(Exception):
    """Realtime could not be joined, or the channel was lost; the message says why."""
