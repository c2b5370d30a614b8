"""Real Chromium for the browser tests, and the checks every page must pass: axe-core finds no
serious or critical violation, and nothing is wider than the viewport (a phone at 360 to 400 px
must never scroll sideways). One definition each, so every test asks the same questions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from portal.auth.cookies import ACCESS_COOKIE

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The widths every customer page is checked at: a small phone, a common phone, a laptop.
PHONE = {"width": 360, "height": 740}
PHONE_WIDE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


def signed_in_context(
    browser: Browser, url: str, token: str, viewport: dict[str, int] | None = None
) -> BrowserContext:
    """A fresh context carrying the portal's access cookie (`token` from
    tests.support.portal_harness.access_token)."""
    context = browser.new_context(viewport=viewport or DESKTOP)  # type: ignore[arg-type]
    context.add_cookies([{"name": ACCESS_COOKIE, "value": token, "url": url}])
    return context


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    # Through DevTools, not a <script> tag: the portal's CSP (rightly) refuses inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return found


def sideways_overflow(page: Page) -> dict[str, Any]:
    """What makes a person scroll sideways: the document's scroll width against the viewport,
    the visible elements whose right edge passes the viewport, and the scroll boxes
    (overflow-x auto/scroll) whose content is wider than the box, each named tag#id.class.
    A table squeezed into its own scroll box still hides its last columns on a phone, so it
    counts. Elements clipped by an `overflow: hidden` ancestor (visually hidden text) do not."""
    found: dict[str, Any] = page.evaluate(
        """() => {
          const limit = document.documentElement.clientWidth;
          const hidden = (el) => {
            for (let p = el.parentElement; p; p = p.parentElement) {
              const ox = getComputedStyle(p).overflowX;
              if (ox === 'hidden' || ox === 'clip') return true;
            }
            return false;
          };
          const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
            (typeof el.className === 'string' && el.className
              ? '.' + el.className.trim().split(/ +/).join('.') : '');
          const elements = [];
          const scrollers = [];
          for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.height === 0 || hidden(el)) continue;
            if (box.right > limit + 1) elements.push([name(el), Math.round(box.right)]);
            const ox = getComputedStyle(el).overflowX;
            if ((ox === 'auto' || ox === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
              scrollers.push([name(el), el.scrollWidth, el.clientWidth]);
            }
          }
          return {viewport: limit, scroll_width: document.documentElement.scrollWidth,
                  elements: elements.slice(0, 10), scroll_boxes: scrollers.slice(0, 10)};
        }"""
    )
    return found


def assert_fits_width(page: Page) -> None:
    """The page never makes a person scroll sideways at its viewport's width."""
    found = sideways_overflow(page)
    assert found["scroll_width"] <= found["viewport"], f"{page.url} scrolls sideways: {found}"
    assert not found["elements"], f"{page.url} has elements past the viewport: {found}"
    assert not found["scroll_boxes"], f"{page.url} has boxes that scroll sideways: {found}"
