"""The report as PDF, printed by Chromium (Playwright) from the report page's own HTML.

The page is rendered by the portal under the customer's JWT and handed to Chromium with
`set_content`: Chromium never fetches anything with the customer's cookies, and every
request it might try (an image, a font) is refused, so the PDF contains exactly the HTML we
rendered. Scripts are off. One browser is started on first use and reused; a semaphore keeps
at most `max_concurrent` PDFs printing at once (each costs a Chromium page), and each print
has a deadline. A browser that crashed is started again on the next request.
"""

from __future__ import annotations

import asyncio
import logging
import time

from playwright.async_api import Browser, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

log = logging.getLogger(__name__)

FOOTER = (
    '<div style="font-size:8px;width:100%;padding:0 12mm;color:#4a5563;'
    'font-family:system-ui,sans-serif;display:flex;justify-content:space-between">'
    "<span>DirectoryBolt submission report</span>"
    '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
)


class PdfUnavailable(Exception):
    """Chromium could not print the report in time (or at all)."""


async def _refuse(route: Route) -> None:
    await route.abort()


class PdfRenderer:
    def __init__(
        self, chromium_path: str, *, max_concurrent: int = 2, timeout_seconds: float = 30.0
    ) -> None:
        self.chromium_path = chromium_path
        self.timeout_seconds = timeout_seconds
        self._slots = asyncio.Semaphore(max_concurrent)
        self._start_lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.launches = 0

    async def _ready_browser(self) -> Browser:
        async with self._start_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                log.warning(
                    "pdf browser gone; starting another", extra={"action": "portal.pdf_relaunch"}
                )
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.chromium_path,
                args=["--disable-gpu", "--disable-quic"],
                timeout=self.timeout_seconds * 1000,
            )
            self.launches += 1
            return self._browser

    async def render(self, html: str) -> bytes:
        """The PDF of `html` (A4, backgrounds, page numbers in the footer)."""
        try:
            return await asyncio.wait_for(self._render(html), self.timeout_seconds)
        except (TimeoutError, PlaywrightError) as error:
            log.error(
                "pdf rendering failed",
                extra={"action": "portal.pdf_failed", "error": type(error).__name__},
            )
            raise PdfUnavailable(str(error) or type(error).__name__) from error

    async def _render(self, html: str) -> bytes:
        async with self._slots:
            started = time.monotonic()
            browser = await self._ready_browser()
            context = await browser.new_context(java_script_enabled=False, offline=True)
            try:
                await context.route("**/*", _refuse)
                page = await context.new_page()
                await page.set_content(html, wait_until="load")
                await page.emulate_media(media="print")
                pdf = await page.pdf(
                    format="A4",
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=FOOTER,
                    margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                    tagged=True,
                    outline=True,
                )
            finally:
                await context.close()
            log.info(
                "pdf rendered",
                extra={
                    "action": "portal.pdf_rendered",
                    "bytes": len(pdf),
                    "ms": round((time.monotonic() - started) * 1000),
                },
            )
            return pdf

    async def aclose(self) -> None:
        browser, self._browser = self._browser, None
        playwright, self._playwright = self._playwright, None
        if browser is not None:
            try:
                await browser.close()
            except PlaywrightError:
                log.debug("pdf browser already gone", extra={"action": "portal.pdf_close"})
        if playwright is not None:
            await playwright.stop()
