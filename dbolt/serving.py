"""How each service's `python -m <service>` serves its app: JSON logs, then uvicorn.

    def main() -> None:
        serve(create_app, OrchestratorSettings())

Logging is configured before the app is built, so whatever create_app logs is JSON too;
uvicorn's own log config and access log are off. The event loop and HTTP parser are named, not
left to uvicorn's "auto" (which takes uvloop and httptools whenever they are installed, and
they are, for the orchestrator): a service moves to them when it has been measured on them.
(devstack/serving.py is the stand-ins' thread-server; production never imports devstack.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

import uvicorn

from dbolt.log import configure_logging


class Listening(Protocol):
    """What serve() needs of a service's settings."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def log_level(self) -> str: ...


SettingsT = TypeVar("SettingsT", bound=Listening)
EventLoop = Literal["asyncio", "uvloop"]
HttpParser = Literal["h11", "httptools"]


def serve(
    create_app: Callable[[SettingsT], Any],
    settings: SettingsT,
    *,
    loop: EventLoop = "asyncio",
    http: HttpParser = "h11",
) -> None:
    """Serve `create_app(settings)` on settings.host:settings.port until stopped."""
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop=loop,
        http=http,
        log_config=None,
        access_log=False,
    )
