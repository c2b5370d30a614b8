"""The worker service account's Supabase Auth session: signed in at start-up with email and
password, refreshed before it expires, so Realtime always has a valid access token.

Only the two GoTrue calls the worker needs, over httpx; SUPABASE_URL points it at Supabase
or the local stand-in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)


class AuthFailed(Exception):
    """Sign-in or refresh was refused (the message says why, never the password)."""


class ServiceAccountSession:
    def __init__(self, supabase_url: str, anon_key: str, email: str, password: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=supabase_url.rstrip("/") + "/auth/v1",
            headers={"apikey": anon_key, "Authorization": f"Bearer {anon_key}"},
            timeout=10.0,
        )
        self.email = email
        self._password = password
        self.access_token: str | None = None
        self._refresh_token: str | None = None
        self._expires_at = 0.0

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _grant(self, grant_type: str, body: dict[str, str]) -> str:
        try:
            response = await self.http.post("/token", params={"grant_type": grant_type}, json=body)
        except httpx.HTTPError as error:
            raise AuthFailed(f"Auth unreachable: {type(error).__name__}") from error
        if response.status_code != 200:
            detail: Any = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            message = detail.get("msg") or detail.get("error_description") or response.reason_phrase
            raise AuthFailed(f"{grant_type} refused ({response.status_code}): {message}")
        session = response.json()
        self.access_token = str(session["access_token"])
        self._refresh_token = str(session["refresh_token"])
        self._expires_at = time.monotonic() + float(session.get("expires_in", 3600))
        return self.access_token

    async def sign_in(self) -> str:
        token = await self._grant("password", {"email": self.email, "password": self._password})
        log.info("signed in to Auth", extra={"action": "auth.signed_in", "email": self.email})
        return token

    async def refresh(self) -> str:
        if self._refresh_token is None:
            return await self.sign_in()
        try:
            return await self._grant("refresh_token", {"refresh_token": self._refresh_token})
        except AuthFailed:
            # A revoked or reused refresh token: start a new session instead.
            return await self.sign_in()

    async def keep_fresh(self, on_token: Callable[[str], Awaitable[None]]) -> None:
        """Refresh a minute before expiry, forever; failures are logged and retried."""
        retry = 5.0
        while True:
            await asyncio.sleep(max(5.0, self._expires_at - time.monotonic() - 60))
            try:
                await on_token(await self.refresh())
                retry = 5.0
            except AuthFailed as error:
                # Keep going: the current token may still be valid, and Auth may come back.
                log.warning(
                    "token refresh failed",
                    extra={"action": "auth.refresh_failed", "error": str(error)},
                )
                self._expires_at = time.monotonic() + 60 + retry
                retry = min(retry * 2, 300)
