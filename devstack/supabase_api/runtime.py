"""What the stand-in's routes share while it runs: settings, a database pool, the broadcast hub."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, cast

from fastapi import Depends
from psycopg_pool import AsyncConnectionPool
from starlette.requests import HTTPConnection

from devstack.supabase_api.auth_settings import AuthSettings
from devstack.supabase_api.realtime_hub import Hub


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Phoenix closes a socket that sent nothing (not even a heartbeat) for 60 seconds.
    idle_timeout_seconds: float = 60.0
    # Frames queued for one socket before it counts as a slow consumer and is closed.
    outbox_limit: int = 1000
    pool_size: int = 4
    database_timeout_seconds: float = 5.0
    # Hosted Realtime drops realtime.messages older than 72 hours; the janitor does it here.
    message_retention_hours: float = 72.0
    janitor_interval_seconds: float = 3600.0
    # The Auth stand-in's configuration (SMTP_URL and GoTrue's knobs), from the environment.
    auth: AuthSettings = field(default_factory=AuthSettings.from_env)


class Runtime:
    """Built inside the server's event loop by the lifespan, so nothing binds the wrong loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: AsyncConnectionPool = AsyncConnectionPool(
            settings.database_url,
            min_size=1,
            max_size=settings.pool_size,
            timeout=settings.database_timeout_seconds,
            open=False,
            name="devstack-supabase-api",
            # A pooled connection may have died with a database restart; check before use
            # so one outage does not refuse the next join.
            check=AsyncConnectionPool.check_connection,
        )
        self.hub = Hub()
        # Open Realtime sockets: what hosted Realtime counts against a plan's connections.
        self.open_sockets = 0
        # Set while the broadcast feed is LISTENing; startup waits for it so that a client
        # joining right after the server is up cannot miss a broadcast.
        self.listening = asyncio.Event()


def current_runtime(connection: HTTPConnection) -> Runtime:
    return cast(Runtime, connection.app.state.runtime)


RuntimeDep = Annotated[Runtime, Depends(current_runtime)]
