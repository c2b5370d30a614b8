"""Who is signed in: the verified Viewer on every request, an expired session refreshed.

Pure ASGI rather than BaseHTTPMiddleware so server-sent event streams pass through untouched
and still notice when the browser goes away.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.auth.cookies import ACCESS_COOKIE, REFRESH_COOKIE, clear_session, set_session
from portal.auth.tokens import Expired, InvalidToken
from portal.viewer import Viewer

if TYPE_CHECKING:
    from portal.state import PortalState

log = logging.getLogger(__name__)


class SessionMiddleware:
    """Puts the verified Viewer (or None) on `request.state.viewer`.

    An expired access token is exchanged for a new one with the refresh cookie, and the new
    cookies ride on whatever response the page produces; a refresh Auth refuses signs the
    visitor out.
    """

    def __init__(self, app: ASGIApp, state: PortalState) -> None:
        self.app = app
        self.portal = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        viewer, cookies = await self._resolve(request)
        scope.setdefault("state", {})["viewer"] = viewer

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and cookies:
                headers = MutableHeaders(scope=message)
                for value in cookies:
                    headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_with_cookies)

    async def _resolve(self, request: Request) -> tuple[Viewer | None, list[str]]:
        access = request.cookies.get(ACCESS_COOKIE)
        refresh = request.cookies.get(REFRESH_COOKIE)
        if not access and not refresh:
            return None, []
        if access:
            try:
                return await self.portal.tokens.verify(access), []
            except Expired:
                pass
            except InvalidToken:
                if not refresh:
                    return None, self._cookies(None)
        if refresh:
            grant = await self._refresh(refresh)
            if grant is not None:
                try:
                    viewer = await self.portal.tokens.verify(str(grant["access_token"]))
                except InvalidToken:
                    viewer = None
                if viewer is not None:
                    return viewer, self._cookies(grant)
        return None, self._cookies(None)

    async def _refresh(self, refresh_token: str) -> dict[str, object] | None:
        settings = self.portal.settings
        anon = settings.supabase_anon_key.get_secret_value()
        try:
            response = await self.portal.http.post(
                f"{settings.auth_url}/token",
                params={"grant_type": "refresh_token"},
                json={"refresh_token": refresh_token},
                headers={"apikey": anon, "Authorization": f"Bearer {anon}"},
            )
        except httpx.HTTPError as error:
            log.warning(
                "session refresh failed: Auth unreachable",
                extra={"action": "portal.session_refresh_failed", "error": type(error).__name__},
            )
            return None
        if response.status_code != 200:
            log.info(
                "session refresh refused",
                extra={"action": "portal.session_refresh_refused", "status": response.status_code},
            )
            return None
        grant: dict[str, object] = response.json()
        return grant if isinstance(grant.get("access_token"), str) else None

    def _cookies(self, grant: dict[str, object] | None) -> list[str]:
        carrier = Response()
        secure = self.portal.settings.cookie_secure
        if grant is None:
            clear_session(carrier, secure=secure)
        else:
            expires_in = grant.get("expires_in")
            set_session(
                carrier,
                str(grant["access_token"]),
                str(grant.get("refresh_token") or ""),
                int(expires_in) if isinstance(expires_in, int) else 3600,
                secure=secure,
            )
        return [
            value.decode("latin-1") for key, value in carrier.raw_headers if key == b"set-cookie"
        ]
