"""Access tokens verified against Supabase Auth's published keys (JWKS), never trusted as sent.

The key set is fetched once and again only when a token names a key we have not seen (Auth
rotated its keys), at most every `refetch_seconds`, so a flood of forged tokens cannot turn
into a flood of requests to Auth.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import jwt

from portal.viewer import Viewer

ALGORITHMS = ["ES256", "RS256"]


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not a user's access token."""


class Expired(InvalidToken):
    pass


class TokenVerifier:
    def __init__(self, http: httpx.AsyncClient, jwks_url: str, refetch_seconds: float = 30.0):
        self._http = http
        self._jwks_url = jwks_url
        self._refetch_seconds = refetch_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if (
                kid not in self._keys
                and time.monotonic() - self._fetched_at > self._refetch_seconds
            ):
                response = await self._http.get(self._jwks_url)
                response.raise_for_status()
                self._keys = {
                    key["kid"]: jwt.PyJWK(key)
                    for key in response.json().get("keys", [])
                    if "kid" in key
                }
                self._fetched_at = time.monotonic()
        if kid not in self._keys:
            raise InvalidToken("the token is signed by a key Auth does not publish")
        return self._keys[kid]

    async def verify(self, token: str) -> Viewer:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("malformed token") from error
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise InvalidToken("unexpected token algorithm or key id")
        try:
            key = await self._key(header["kid"])
        except httpx.HTTPError as error:
            raise InvalidToken("the Auth key set is unreachable") from error
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience="authenticated",
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Expired("the access token has expired") from error
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        if claims.get("role") != "authenticated":
            raise InvalidToken("not a signed-in user's token")
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError as error:
            raise InvalidToken("the token's subject is not a user id") from error
        app_metadata = claims.get("app_metadata") or {}
        role = app_metadata.get("role") if isinstance(app_metadata, dict) else None
        return Viewer(
            user_id=user_id,
            email=str(claims.get("email") or ""),
            app_role=role if isinstance(role, str) else None,
            access_token=token,
            claims=claims,
        )
