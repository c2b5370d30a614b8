"""Small Playwright helpers shared by the recipe runner and the generic filler."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from playwright.async_api import Frame, Locator, Page, Response
from playwright.async_api import TimeoutError as PlaywrightTimeout

from worker.egress_guard import BLOCKED_HEADER, GUARD_NAME
from worker.outcome import from_status, permanent, transient

Target = Page | Frame


async def goto(page: Page, url: str) -> Response | None:
    response = await page.goto(url, wait_until="domcontentloaded")
    check_response(response, url)
    return response


# RFC 9209 Proxy-Status error types that say the site itself could not be reached.
ORIGIN_ERRORS = {
    "connection_refused",
    "destination_not_found",
    "destination_unavailable",
    "destination_ip_unroutable",
    "dns_error",
}


def check_response(response: Response | None, url: str) -> None:
    if response is None:
        return
    if response.headers.get(BLOCKED_HEADER.lower()) == "blocked":
        raise permanent(
            "blocked_destination", f"{url}: workers may not reach this address (egress guard)"
        )
    # Through a proxy, a 502 may be the site's fault or the proxy's: Proxy-Status says which.
    proxy_status = response.headers.get("proxy-status", "")
    if "error=" in proxy_status:
        error = proxy_status.split("error=", 1)[1].split(";")[0].strip()
        if error in ORIGIN_ERRORS:
            raise permanent("site_down", f"{url}: the proxy could not reach the site ({error})")
        if proxy_status.startswith(GUARD_NAME):
            # The worker's own guard connects straight to the site: no proxy to blame.
            raise transient("connection_error", f"{url}: could not connect ({error})")
        raise transient("proxy_error", f"{url}: the proxy failed ({error})")
    failure = from_status(response.status, url)
    if failure is not None:
        raise failure


async def require(target: Target, selector: str, what: str, timeout_ms: int) -> Locator:
    """The element, or recipe drift: the site no longer has what the recipe expects."""
    locator = target.locator(selector).first
    try:
        await locator.wait_for(state="attached", timeout=timeout_ms)
    except PlaywrightTimeout:
        raise permanent(
            "recipe_drift", f"{what}: selector {selector!r} not found on {page_url(target)}"
        ) from None
    return locator


async def present(target: Target, selector: str | None) -> Locator | None:
    if not selector:
        return None
    locator = target.locator(selector).first
    return locator if await locator.count() and await locator.is_visible() else None


def page_url(target: Target) -> str:
    return target.url


async def absolute_href(target: Target, locator: Locator) -> str | None:
    href = await locator.get_attribute("href")
    return urljoin(target.url, href) if href else None


async def visible_text(target: Target) -> str:
    text: Any = await target.evaluate("() => document.body ? document.body.innerText : ''")
    return str(text)


# Where sites show what they refused in a form: an error next to a field, or a list of
# problems in an alert. Recipes may name their own (expect.rejected).
FIELD_ERRORS = ".field-error, .error.invalid li, [role=alert] li, [aria-live=assertive] li"


async def field_errors(target: Target, selector: str | None = None) -> list[str]:
    """The visible field errors' texts, in page order (empty when there are none)."""
    texts: list[str] = await target.locator(selector or FIELD_ERRORS).evaluate_all(
        """els => els.filter(el => !!(el.offsetWidth || el.offsetHeight
                                      || el.getClientRects().length))
                  .map(el => el.innerText.trim()).filter(Boolean)"""
    )
    return texts
