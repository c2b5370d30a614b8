"""What a read-only browser context (the scout, the canary's dry run) lets a page send.

Before the first page has loaded: GET and HEAD only (the page, its frames, its scripts).
Once the caller says it has loaded (before anything is typed or clicked), the page may still
fetch what it needs to show itself, but nothing that could carry what was typed:

- a navigation (a form sent with GET is one) unless it is to a URL the caller opens itself;
- any request with a query string (`fetch('/x?business=...')`, an image beacon);
- any request to a form's action (where the page would send it);
- any WebSocket (a message carries anything, and the egress guard sees only the connection).

A method other than GET or HEAD is refused at any time. Every refused request is listed in
`not_sent` (the method and the URL without its query), up to NOT_SENT_LIMIT entries.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from playwright.async_api import BrowserContext, Page, Request, Route, WebSocketRoute
from playwright.async_api import Error as PlaywrightError

_READ_ONLY = ("GET", "HEAD")
# A hostile page can ask for thousands of refused requests: the report keeps the first ones.
NOT_SENT_LIMIT = 100
CUT = "(cut)"
_FORM_ACTIONS = "() => [...document.forms].map(form => form.action)"


def _bare(url: str) -> str:
    """The URL without its query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _without_fragment(url: str) -> str:
    """The URL as the browser asks for it: no fragment, and `/` for an empty path."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


class ReadOnlyRoute:
    """Install it on a context before its first page opens; call `loaded` once the first page
    has settled. `allowed`: URLs the caller navigates to itself (a recipe's gotos)."""

    def __init__(self, allowed: set[str] | None = None) -> None:
        self.allowed = {_without_fragment(url) for url in allowed or set()}
        self.not_sent: list[str] = []
        self.form_actions: set[str] = set()
        self.is_loaded = False

    async def install(self, context: BrowserContext) -> None:
        await context.route("**/*", self._handle)
        await context.route_web_socket("**/*", self._refuse_web_socket)

    async def loaded(self, page: Page) -> None:
        """From now on only what shows the page goes out (see the module's docstring)."""
        for frame in page.frames:
            # A frame that is gone or refuses scripts has no form to remember.
            try:
                actions: list[str] = await frame.evaluate(_FORM_ACTIONS)
            except PlaywrightError:
                continue
            self.form_actions.update(_bare(action) for action in actions if action)
        self.is_loaded = True

    def refuses(self, request: Request) -> bool:
        if request.method not in _READ_ONLY:
            return True
        if not self.is_loaded or self._opened_by_caller(request):
            return False
        return (
            request.is_navigation_request()
            or bool(urlsplit(request.url).query)
            or _bare(request.url) in self.form_actions
        )

    def _opened_by_caller(self, request: Request) -> bool:
        # A redirect answering one of the caller's own gotos is the caller's too.
        while request.redirected_from is not None:
            request = request.redirected_from
        return _without_fragment(request.url) in self.allowed

    def _note(self, entry: str) -> None:
        if len(self.not_sent) < NOT_SENT_LIMIT:
            self.not_sent.append(entry)
        elif len(self.not_sent) == NOT_SENT_LIMIT:
            self.not_sent.append(f"{CUT}: more requests were refused and not listed")

    async def _handle(self, route: Route, request: Request) -> None:
        if not self.refuses(request):
            await route.fallback()
            return
        self._note(f"{request.method} {_bare(request.url)}")
        if request.is_navigation_request() and self.is_loaded:
            # A 204 answers a navigation with "stay": the page keeps its document (an abort
            # would replace it with the browser's error page), and the site hears nothing.
            await route.fulfill(status=204)
            return
        await route.abort("blockedbyclient")

    async def _refuse_web_socket(self, socket: WebSocketRoute) -> None:
        # Never connected to the server: the page's messages go nowhere.
        self._note(f"WEBSOCKET {_bare(socket.url)}")
        await socket.close(code=1008, reason="refused by a read-only browser")
