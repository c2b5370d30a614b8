"""Run the proxies in a background thread with their own event loop: for tests and harnesses."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from devstack.proxies.service import ProxyConfig, ProxyService


class ProxiesThread:
    """`with ProxiesThread(config) as proxies:` — `proxies.service.proxy_urls` until the end."""

    def __init__(self, config: ProxyConfig, startup_timeout: float = 10.0) -> None:
        self.service = ProxyService(config)
        self._startup_timeout = startup_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="devstack-proxies", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self.service.start(), self._loop)
        try:
            started.result(timeout=self._startup_timeout)
        except BaseException:
            self._shut_loop()
            raise

    def stop(self) -> None:
        if self._thread.is_alive():
            stopped = asyncio.run_coroutine_threadsafe(self.service.stop(), self._loop)
            stopped.result(timeout=10)
        self._shut_loop()

    def _shut_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> ProxiesThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
