"""The report as PDF, printed by Chromium (Playwright) from the report page's own HTML.

The page is rendered by the portal under the customer's JWT and handed to Chromium with
`set_content`: Chromium never fetches anything with the customer's cookies, and every
request it might try (an image, a font) is refused, so the PDF contains exactly the HTML we
rendered. Scripts are off. One browser is started on first use and reused; a semaphore keeps
at most `max_concurrent` PDFs printing at once (each costs a Chromium page), and each print
has a deadline. A browser that crashed is started again on the next request.

The document is printed on the customer's paper (portal/reports/paper.py: US Letter or A4):
the report's print styles (static/report.css) make page 1 a cover and keep each table row on
one page; Chromium adds the footer (the business and "Page N of M") and turns every <a href>
into a link annotation, which is why the template links only http(s) addresses.
"""

from __future__ import annotations

import asyncio
import logging
import time

from markupsafe import escape
from playwright.async_api import Browser, PdfMargins, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from portal.reports.paper import A4, Paper

log = logging.getLogger(__name__)

# Chromium draws the footer in the bottom margin of every page, outside the document's flow
# (so it cannot be cut by a table); its font size must be set here, it inherits nothing.
# The margins are the printable area both papers share: tests/e2e/test_report_pdf_pages.py
# checks that nothing but the footer is printed in them.
MARGINS: PdfMargins = {"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"}
_FOOTER = (
    '<div style="font-size:8px;width:100%;margin:0 12mm 5mm;color:#4a5563;'
    'font-family:system-ui,sans-serif;display:flex;justify-content:space-between;gap:8mm">'
    '<span style="overflow:hidden;white-space:nowrap;text-overflow:ellipsis">{title}</span>'
    '<span style="white-space:nowrap">Page <span class="pageNumber"></span> of '
    '<span class="totalPages"></span></span></div>'
)


def footer(business_name: str) -> str:
    """The footer: whose report it is, and "Page N of M"."""
    return _FOOTER.format(title=escape(f"{business_name} · DirectoryBolt submission report"))


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

    async def render(self, html: str, paper: Paper = A4, business_name: str = "") -> bytes:
        """The PDF of `html` on `paper`, with backgrounds, and the business's name and the
        page numbers in every page's footer."""
        try:
            return await asyncio.wait_for(
                self._render(html, paper, business_name), self.timeout_seconds
            )
        except (TimeoutError, PlaywrightError) as error:
            log.error(
                "pdf rendering failed",
                extra={"action": "portal.pdf_failed", "error": type(error).__name__},
            )
            raise PdfUnavailable(str(error) or type(error).__name__) from error

    async def _render(self, html: str, paper: Paper, business_name: str) -> bytes:
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
                    width=paper.width,
                    height=paper.height,
                    print_background=True,
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=footer(business_name or "Your business"),
                    margin=MARGINS,
                    tagged=True,
                    outline=True,
                )
            finally:
                await context.close()
            log.info(
                "pdf rendered",
                extra={
                    "action": "portal.pdf_rendered",
                    "paper": paper.key,
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
