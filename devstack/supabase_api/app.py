"""The app factory. Each stand-in service is a router; the Auth stand-in adds its own here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI

from devstack import jwt_keys
from devstack.supabase_api import auth_routes, functions_proxy, realtime_socket
from devstack.supabase_api.realtime_feed import run_feed
from devstack.supabase_api.realtime_janitor import run_janitor
from devstack.supabase_api.runtime import Runtime, Settings

log = logging.getLogger(__name__)

# How long startup waits for the broadcast feed before serving anyway (joins still work;
# deliveries start once the feed connects).
FEED_STARTUP_TIMEOUT_SECONDS = 10.0

# uvicorn logs each websocket upgrade with its query string, and Realtime clients put the API
# key there (the service-role key is a secret). Tokens never reach a log.
_API_KEY_IN_URL = re.compile(r"((?:apikey|access_token|token)=)[^&\s\"]+", re.IGNORECASE)


class RedactApiKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _API_KEY_IN_URL.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def _redact_uvicorn_logs() -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, RedactApiKeys) for existing in uvicorn_log.filters):
        uvicorn_log.addFilter(RedactApiKeys())


auth_router = APIRouter(prefix="/auth/v1", tags=["auth"])


@auth_router.get("/.well-known/jwks.json")
def jwks() -> dict[str, Any]:
    """The public signing keys, where supabase-py and Realtime look for them."""
    return jwt_keys.jwks()


DEFAULT_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    auth_routes.router,
    realtime_socket.router,
    functions_proxy.router,
)


async def _start_feed(runtime: Runtime) -> asyncio.Task[None]:
    feed = asyncio.create_task(run_feed(runtime), name="realtime-feed")
    try:
        await asyncio.wait_for(runtime.listening.wait(), FEED_STARTUP_TIMEOUT_SECONDS)
    except TimeoutError:
        log.error(
            "broadcast feed not listening yet; serving anyway",
            extra={"action": "realtime.feed_not_ready"},
        )
    return feed


def _lifespan(
    settings: Settings,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings)
        # wait=False: a database that is down at start must not stop the server; the pool
        # keeps trying in the background and joins are refused meanwhile.
        await runtime.pool.open(wait=False)
        feed = await _start_feed(runtime)
        janitor = asyncio.create_task(run_janitor(runtime), name="realtime-janitor")
        app.state.runtime = runtime
        log.info("supabase api stand-in started", extra={"action": "supabase_api.started"})
        try:
            yield
        finally:
            feed.cancel()
            janitor.cancel()
            await asyncio.gather(feed, janitor, return_exceptions=True)
            await app.state.functions_gateway.aclose()
            await runtime.pool.close()

    return lifespan


def create_app(
    settings: Settings,
    routers: Sequence[APIRouter] = DEFAULT_ROUTERS,
    functions: Mapping[str, str] | None = None,
) -> FastAPI:
    """The Supabase API stand-in. Pass `routers` to serve more (or fewer) endpoints, and
    `functions` (name → Deno URL) to override $SUPABASE_FUNCTIONS for /functions/v1."""
    _redact_uvicorn_logs()
    app = FastAPI(
        title="DirectoryBolt devstack: Supabase API stand-in",
        description="Auth JWKS and Realtime broadcast channels, as DirectoryBolt uses them.",
        lifespan=_lifespan(settings),
    )
    functions_proxy.install(app.state, functions)
    for router in routers:
        app.include_router(router)
    return app
