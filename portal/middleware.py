"""Two small ASGI middlewares: a cross-site request guard for state-changing requests, and
the security headers (CSP and friends) on every response. Who is signed in is
portal.auth.session_middleware.

Pure ASGI rather than BaseHTTPMiddleware so server-sent event streams pass through untouched
and still notice when the browser goes away.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class OriginGuardMiddleware:
    """Refuses state-changing requests sent by another site's page (CSRF).

    Browsers send Origin on cross-origin POSTs; SameSite=Lax cookies already keep the session
    off them, and this makes the refusal explicit. Requests without Origin (curl, tests) pass.
    `token_posts` are the paths (each pattern must match the whole path) whose POST is
    authorised by a token in the URL and never by a cookie (one-click unsubscribe): there is
    no session to ride on, so that POST is not guarded. Any other method there, or any path
    the pattern does not match in full, is guarded like the rest.
    """

    def __init__(
        self, app: ASGIApp, portal_url: str, token_posts: tuple[re.Pattern[str], ...] = ()
    ) -> None:
        self.app = app
        parts = urlsplit(portal_url)
        self.origin = f"{parts.scheme}://{parts.netloc}".lower()
        self.token_posts = token_posts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _UNSAFE_METHODS
            and not self._token_post(scope["method"], str(scope.get("path", "")))
        ):
            origin = Request(scope).headers.get("origin")
            if origin is not None and origin.lower() not in {self.origin} | _same_host(scope):
                response = PlainTextResponse("cross-site request refused", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _token_post(self, method: str, path: str) -> bool:
        return method == "POST" and any(route.fullmatch(path) for route in self.token_posts)


def _same_host(scope: Scope) -> set[str]:
    # The portal may be reached by another name than portal_url (127.0.0.1 vs localhost);
    # a form posted from a page it served itself carries that page's own origin.
    host = Request(scope).headers.get("host")
    if not host:
        return set()
    scheme = scope.get("scheme", "http")
    return {f"{scheme}://{host}".lower()}


class SecurityHeadersMiddleware:
    """Puts a Content-Security-Policy and the framing, sniffing and referrer headers on every
    response the portal's routes make: pages, error pages, the staff dashboard, static files,
    event streams.

    The policy is what the pages need and no more: scripts and styles only from our own
    `/static/` files (no inline `<script>`, no `eval`), style *attributes* allowed (the staff
    charts size their bars with `style="width: …"`; an attribute cannot run script, and any
    url() it names is still held to img-src), images from us (logos are served at
    PORTAL_URL/logos/…) and data: URLs, fetch/EventSource to us only, no plugins, no
    <base> rewriting, and no framing by anyone (clickjacking). `form-action` is left out on
    purpose: POST /checkout answers with a redirect to Stripe's checkout page, and Chromium
    applies form-action to that redirect too.

    A response that already carries its own, stricter policy (a staff artifact's sandbox, a
    logo's `default-src 'none'`) keeps it, with `frame-ancestors 'none'` added if missing.
    """

    def __init__(self, app: ASGIApp, portal_url: str) -> None:
        self.app = app
        parts = urlsplit(portal_url)
        portal_origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
        self.policy = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                "style-src-attr 'unsafe-inline'",
                f"img-src 'self' data: {portal_origin}".strip(),
                "connect-src 'self'",
                "font-src 'self'",
                "object-src 'none'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                own = headers.get("content-security-policy")
                if own is None:
                    headers["Content-Security-Policy"] = self.policy
                elif "frame-ancestors" not in own:
                    headers["Content-Security-Policy"] = f"{own}; frame-ancestors 'none'"
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                if "referrer-policy" not in headers:
                    # Page URLs carry checkout session and job ids: never send them elsewhere.
                    headers["Referrer-Policy"] = "same-origin"
            await send(message)

        await self.app(scope, receive, send_with_headers)
