"""All the proxies and their admin API, started and stopped together in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from devstack.proxies import wire
from devstack.proxies.admin import AdminApi
from devstack.proxies.connection import ClientConnection, Credentials, Timeouts
from devstack.proxies.state import ProxyState

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LOG_DIR = REPO_ROOT / ".local" / "proxies"
DEFAULT_USER = "dbolt"
DEFAULT_PASSWORD = "local-dev-proxy-pass"  # noqa: S105 - the documented local default


@dataclass(frozen=True)
class ProxyConfig:
    # One proxy per port; 0 picks a free port. Proxy i (1-based) listens on ports[i - 1].
    ports: Sequence[int]
    user: str = DEFAULT_USER
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    # None: no admin API; 0: a free port.
    admin_port: int | None = None
    log_dir: Path = DEFAULT_LOG_DIR
    timeouts: Timeouts = field(default_factory=Timeouts)


class ProxyService:
    def __init__(self, config: ProxyConfig) -> None:
        if not config.ports:
            raise ValueError("ports: at least one proxy port is needed")
        self.config = config
        self.credentials = Credentials(config.user, config.password)
        self.proxies = [
            ProxyState(index, port, config.log_dir / f"proxy-{index}.log")
            for index, port in enumerate(config.ports, start=1)
        ]
        self.admin = AdminApi(self.proxies)
        self.admin_port: int | None = None
        self._servers: list[asyncio.Server] = []
        # Connection handlers still running, so stop() can end open tunnels and kept-alive
        # connections (Python 3.11's Server has no close_clients()).
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def proxy_urls(self) -> list[str]:
        """What PROXY_URLS should hold, credentials included."""
        user = quote(self.config.user, safe="")
        password = quote(self.config.password, safe="")
        return [f"http://{user}:{password}@{LOOPBACK}:{proxy.port}" for proxy in self.proxies]

    @property
    def admin_url(self) -> str | None:
        return None if self.admin_port is None else f"http://{LOOPBACK}:{self.admin_port}"

    async def start(self) -> None:
        """Bind every port (all or nothing) and start accepting."""
        try:
            for proxy in self.proxies:
                proxy.open_log()
                server = await asyncio.start_server(
                    functools.partial(self._serve_client, proxy),
                    LOOPBACK,
                    proxy.port,
                    limit=wire.MAX_HEAD_BYTES,
                )
                self._servers.append(server)
                proxy.port = server.sockets[0].getsockname()[1]
                log.info(
                    "proxy listening",
                    extra={"action": "proxies.started", "proxy": proxy.index, "port": proxy.port},
                )
            if self.config.admin_port is not None:
                server = await asyncio.start_server(
                    self.admin.serve, LOOPBACK, self.config.admin_port, limit=wire.MAX_HEAD_BYTES
                )
                self._servers.append(server)
                self.admin_port = server.sockets[0].getsockname()[1]
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for connection in list(self._connections):
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        for proxy in self.proxies:
            proxy.close_log()
        log.info("proxies stopped", extra={"action": "proxies.stopped"})

    async def _serve_client(
        self, proxy: ProxyState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            connection = ClientConnection(
                proxy, self.credentials, self.config.timeouts, reader, writer
            )
            await connection.serve()
        finally:
            if task is not None:
                self._connections.discard(task)
