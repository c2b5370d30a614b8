"""HTTP/1.1 on asyncio streams for the proxies, with h11 doing the parsing and the framing.

A request head is read with `readuntil` under a size limit (431 past it) and handed to h11,
which refuses what a proxy must not guess about (conflicting lengths, a final transfer coding
other than chunked, a malformed line). h11 unfolds obsolete line folding; a proxy forwarding
it could be read differently downstream, so it is refused here first. Bodies then flow through
h11 in bounded pieces, never buffered whole.
"""

from __future__ import annotations

import asyncio
import re
from http import HTTPStatus
from typing import cast

import h11

MAX_HEAD_BYTES = 64 * 1024
PIECE_BYTES = 64 * 1024
_OBS_FOLD = re.compile(rb"\r\n[ \t]")

# RFC 9209 Proxy-Status error types for the answers a proxy makes itself, by status; the
# worker reads them to tell "the site is down" from "the proxy failed" (worker/pages.py).
_PROXY_ERRORS = {
    400: "http_request_error",
    403: "destination_ip_prohibited",
    407: "http_request_denied",
    431: "http_request_error",
    502: "proxy_internal_error",
    504: "connection_timeout",
}


class HttpError(Exception):
    """A request this proxy will not handle; `status` is what to answer.

    `proxy_error` is the RFC 9209 error type for the Proxy-Status field of that answer.
    """

    def __init__(self, status: int, reason: str, proxy_error: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.proxy_error = proxy_error or _PROXY_ERRORS.get(status, "proxy_internal_error")


async def read_request(reader: asyncio.StreamReader, conn: h11.Connection) -> h11.Request | None:
    """The next request head on `conn`; None when the client closed before sending one."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise HttpError(400, "connection closed inside the request head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request head too large") from None
    if _OBS_FOLD.search(raw):
        raise HttpError(400, "obsolete header line folding")
    conn.receive_data(raw)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as error:
        # h11 says 501 for an unknown transfer coding; for a request whose end cannot be
        # found, RFC 9112 §6.3 says 400.
        raise HttpError(400, f"malformed request: {error}") from None
    assert isinstance(event, h11.Request), event
    return event


async def next_event(
    conn: h11.Connection, reader: asyncio.StreamReader, read_seconds: float | None = None
) -> h11.Event | type[h11.PAUSED]:
    """The peer's next event on `conn`, reading more bytes (each read within `read_seconds`)."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return cast(h11.Event | type[h11.PAUSED], event)
        async with asyncio.timeout(read_seconds):
            conn.receive_data(await reader.read(PIECE_BYTES))


async def send(conn: h11.Connection, writer: asyncio.StreamWriter, event: h11.Event) -> int:
    """Send `event` on `conn`; the bytes written."""
    data = conn.send(event) or b""
    writer.write(data)
    await writer.drain()
    return len(data)


def tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> set[bytes]:
    """The comma-separated tokens of every `name` field (`name` lower-case), lower-cased."""
    return {
        token.strip().lower()
        for key, value in headers
        if key.lower() == name
        for token in value.split(b",")
        if token.strip()
    }


def short_response(
    status: int,
    body: bytes,
    headers: list[tuple[str, str]],
    content_type: str = "text/plain; charset=utf-8",
) -> bytes:
    """A complete short answer that closes the connection. Written out rather than through
    h11, because it also answers requests h11 refused to parse."""
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        *(f"{name}: {value}" for name, value in headers),
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
