"""The worker's one Chromium, launched again when it dies.

Chromium can go at any time: the kernel's OOM killer, a crash, or — with the network
service in the browser process (worker/browser_launch.py) — a crash of the network stack.
Without this the worker would keep its dead Browser: every new context would fail and every
job would loop on "attempt crashed" for ever. So on `disconnected` a new browser is launched
and handed to whoever opens contexts (the submission engine, the live checker). Attempts
under way when it died fail; the next ones get the new browser. A browser that cannot be
launched again (three tries) ends the worker with a non-zero exit, for its supervisor
(Kubernetes) to restart it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from playwright.async_api import Browser, BrowserType

log = logging.getLogger(__name__)
RELAUNCH_TRIES = 3


class BrowserKeeper:
    def __init__(
        self,
        launcher: BrowserType,
        options: dict[str, Any],
        on_new: Callable[[Browser], None],
        on_give_up: Callable[[], None],
    ) -> None:
        self.launcher = launcher
        self.options = options
        self.on_new = on_new
        self.on_give_up = on_give_up
        self.browser: Browser | None = None
        self.relaunches = 0
        self._closing = False
        self._relaunch: asyncio.Task[None] | None = None

    async def start(self) -> Browser:
        browser = await self.launcher.launch(**self.options)
        browser.on("disconnected", self._disconnected)
        self.browser = browser
        return browser

    def _disconnected(self, browser: Browser) -> None:
        if self._closing or browser is not self.browser:
            return
        log.error(
            "the browser died; launching a new one",
            extra={"action": "worker.browser_died"},
        )
        self._relaunch = asyncio.get_running_loop().create_task(
            self._launch_again(), name="browser-relaunch"
        )

    async def _launch_again(self) -> None:
        for attempt in range(RELAUNCH_TRIES):
            try:
                browser = await self.start()
            except Exception:
                log.exception(
                    "could not launch the browser again",
                    extra={"action": "worker.browser_relaunch_failed", "try": attempt + 1},
                )
                await asyncio.sleep(2**attempt)
                continue
            self.relaunches += 1
            log.info("browser launched again", extra={"action": "worker.browser_relaunched"})
            self.on_new(browser)
            return
        self.on_give_up()

    async def close(self) -> None:
        self._closing = True
        if self._relaunch is not None:
            self._relaunch.cancel()
            await asyncio.gather(self._relaunch, return_exceptions=True)
        if self.browser is not None and self.browser.is_connected():
            await self.browser.close()
