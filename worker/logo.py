"""The customer's logo, fetched from the portal only.

The business snapshot names the logo by id (`<uuid>.<ext>`, dbolt/contracts.py); the URL is
built here from the worker's own PORTAL_URL, so no value a customer typed or stored decides
where the worker connects. The body is streamed and abandoned past the portal's own upload
limit, redirects are not followed, the whole fetch has a deadline, and only an image of the
type its name says (checked by its first bytes too) is handed to the directory's form.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from dbolt.contracts import LOGO_CONTENT_TYPES, LOGO_ID, LOGO_MAX_BYTES

# The first bytes of each type the portal accepts (portal/business_form.py sniffs the same).
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/webp": (b"RIFF",),
}


class LogoUnavailable(Exception):
    """The logo could not be fetched as a small image from the portal; the message says why."""


@dataclass(frozen=True)
class Logo:
    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class LogoSource:
    portal_url: str
    max_bytes: int = LOGO_MAX_BYTES
    timeout_seconds: float = 15.0

    def url_for(self, logo_id: str) -> str:
        if not LOGO_ID.fullmatch(logo_id):
            raise LogoUnavailable(f"{logo_id!r} is not a logo id")
        return f"{self.portal_url.rstrip('/')}/logos/{logo_id}"

    async def fetch(self, logo_id: str) -> Logo:
        url = self.url_for(logo_id)
        expected = LOGO_CONTENT_TYPES[logo_id.rsplit(".", 1)[1]]
        try:
            # One deadline for the whole fetch: a body trickled byte by byte cannot hold the
            # attempt (httpx's timeouts are per read).
            async with asyncio.timeout(self.timeout_seconds):
                return await self._fetch(url, logo_id, expected)
        except TimeoutError:
            raise LogoUnavailable(f"{url} took longer than {self.timeout_seconds:.0f} s") from None
        except httpx.HTTPError as error:
            raise LogoUnavailable(f"{url}: {type(error).__name__}") from None

    async def _fetch(self, url: str, logo_id: str, expected: str) -> Logo:
        async with (
            httpx.AsyncClient(follow_redirects=False, timeout=self.timeout_seconds) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise LogoUnavailable(f"{url} answered {response.status_code}")
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            if content_type != expected:
                raise LogoUnavailable(f"{url} is {content_type or 'untyped'}, not {expected}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise LogoUnavailable(f"{url} is larger than {self.max_bytes} bytes")
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > self.max_bytes:
                    raise LogoUnavailable(f"{url} is larger than {self.max_bytes} bytes")
        if not body.startswith(_MAGIC[expected]):
            raise LogoUnavailable(f"{url} is not a {expected} image")
        return Logo(logo_id, expected, bytes(body))
