"""What a recipe lets the browser skip: images, fonts, media and third-party scripts
(`"block": [...]` in the recipe, docs/recipes.md). Nothing is blocked unless the recipe says
so: a site may need any of them (a captcha is an image or a third-party script, a form may be
built by a script from a CDN), and routing every request through Playwright costs a round
trip to this process per request, which a page without heavy assets does not win back.

This only skips downloads. Where the browser may go at all is the egress guard's decision
(worker/egress_guard.py), for every request, blocked here or not.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Request, Route

# The recipe's words for Playwright's resource types.
RESOURCE_TYPES = {"image": "image", "font": "font", "media": "media"}
BLOCKABLE = (*RESOURCE_TYPES, "third_party")


def _site(host: str) -> str:
    """The last two labels of a host name: what counts as the same site here (an address
    stays whole). Coarse for names like example.co.uk, where it treats more as first-party,
    which errs towards loading a script rather than breaking a page."""
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return ".".join(host.split(".")[-2:])


def is_blocked(request: Request, kinds: Collection[str]) -> bool:
    if request.resource_type in {RESOURCE_TYPES[k] for k in kinds if k in RESOURCE_TYPES}:
        return True
    if "third_party" in kinds and request.resource_type == "script":
        page_host = urlsplit(request.frame.page.main_frame.url).hostname or ""
        script_host = urlsplit(request.url).hostname or ""
        return bool(page_host) and _site(script_host) != _site(page_host)
    return False


async def block_requests(context: BrowserContext, kinds: Collection[str]) -> None:
    """Abort the context's requests of the kinds given; no route at all for none."""
    if not kinds:
        return

    async def handle(route: Route, request: Request) -> None:
        if is_blocked(request, kinds):
            await route.abort("blockedbyclient")
        else:
            await route.fallback()

    await context.route("**/*", handle)
