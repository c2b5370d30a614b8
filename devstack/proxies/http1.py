"""Just enough HTTP/1.1 for a forward proxy: read a message head, relay a body by its framing.

Bodies are streamed in bounded pieces, never buffered whole. Chunked bodies are relayed as
they are (chunk lines included), parsed only to find where they end. Anything ambiguous
(obsolete line folding, conflicting lengths, an unknown final transfer coding on a request)
is refused: a proxy that guesses is a request-smuggling proxy.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum

MAX_HEAD_BYTES = 64 * 1024
PIECE_BYTES = 64 * 1024
CRLF = b"\r\n"

REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


# RFC 9209 Proxy-Status error types for the answers a proxy makes itself, by status; the
# worker reads them to tell "the site is down" from "the proxy failed".
_PROXY_ERRORS = {
    400: "http_request_error",
    403: "destination_ip_prohibited",
    407: "http_request_denied",
    431: "http_request_error",
    502: "proxy_internal_error",
    504: "connection_timeout",
}


class HttpError(Exception):
    """A message this proxy will not handle; `status` is what to answer.

    `proxy_error` is the RFC 9209 error type for the Proxy-Status field of that answer.
    """

    def __init__(self, status: int, reason: str, proxy_error: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.proxy_error = proxy_error or _PROXY_ERRORS.get(status, "proxy_internal_error")


@dataclass
class Head:
    """A request or response head: the start line and the header fields, in order."""

    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def tokens(self, name: str) -> list[str]:
        """Comma-separated tokens across every field called `name`, lower-cased."""
        return [
            token.strip().lower()
            for value in self.get_all(name)
            for token in value.split(",")
            if token.strip()
        ]


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next message head; None when the peer closed before sending a byte of it."""
    try:
        raw = await reader.readuntil(CRLF + CRLF)
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise HttpError(400, "connection closed inside the message head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "message head too large") from None
    lines = raw[:-4].decode("latin-1").split("\r\n")
    head = Head(lines[0])
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            raise HttpError(400, "obsolete header line folding")
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpError(400, f"malformed header line {line[:40]!r}")
        head.headers.append((name, value.strip()))
    return head


def serialise(start_line: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start_line, *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def simple_response(
    status: int, body: str, extra_headers: list[tuple[str, str]] | None = None
) -> bytes:
    """A complete short response that closes the connection."""
    payload = body.encode()
    headers = [
        *(extra_headers or []),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(payload))),
        ("Connection", "close"),
    ]
    return serialise(f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", headers) + payload


class Framing(Enum):
    NONE = "none"
    LENGTH = "length"
    CHUNKED = "chunked"
    UNTIL_CLOSE = "until_close"


@dataclass(frozen=True)
class BodyFraming:
    kind: Framing
    length: int = 0


def _content_length(head: Head) -> int | None:
    values = {value.strip() for raw in head.get_all("content-length") for value in raw.split(",")}
    if not values:
        return None
    if len(values) > 1 or not next(iter(values)).isdigit():
        raise HttpError(400, "invalid or conflicting Content-Length")
    return int(values.pop())


def request_framing(head: Head) -> BodyFraming:
    codings = head.tokens("transfer-encoding")
    if codings:
        if codings[-1] != "chunked":
            raise HttpError(400, "a request's final transfer coding must be chunked")
        return BodyFraming(Framing.CHUNKED)
    length = _content_length(head)
    if not length:
        return BodyFraming(Framing.NONE)
    return BodyFraming(Framing.LENGTH, length)


def response_framing(head: Head, status: int, request_method: str) -> BodyFraming:
    if request_method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return BodyFraming(Framing.NONE)
    codings = head.tokens("transfer-encoding")
    if codings:
        kind = Framing.CHUNKED if codings[-1] == "chunked" else Framing.UNTIL_CLOSE
        return BodyFraming(kind)
    try:
        length = _content_length(head)
    except HttpError:
        raise HttpError(
            502, "the origin sent an invalid Content-Length", "http_protocol_error"
        ) from None
    if length is None:
        return BodyFraming(Framing.UNTIL_CLOSE)
    return BodyFraming(Framing.LENGTH, length)


async def relay_body(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, framing: BodyFraming
) -> int:
    """Copy one body from `source` to `sink`; returns the bytes written.

    Raises ConnectionError when the source ends before the body does.
    """
    if framing.kind is Framing.LENGTH:
        return await _relay_exactly(source, sink, framing.length)
    if framing.kind is Framing.CHUNKED:
        return await _relay_chunked(source, sink)
    if framing.kind is Framing.UNTIL_CLOSE:
        return await relay_until_eof(source, sink)
    return 0


async def _relay_exactly(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, length: int
) -> int:
    remaining = length
    while remaining:
        piece = await source.read(min(remaining, PIECE_BYTES))
        if not piece:
            raise ConnectionError("peer closed the connection inside a body")
        sink.write(piece)
        await sink.drain()
        remaining -= len(piece)
    return length


async def _read_line(source: asyncio.StreamReader) -> bytes:
    try:
        return await source.readuntil(CRLF)
    except asyncio.IncompleteReadError:
        raise ConnectionError("peer closed the connection inside a chunked body") from None
    except asyncio.LimitOverrunError:
        raise HttpError(400, "chunk line too long") from None


async def _relay_chunked(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> int:
    written = 0
    while True:
        size_line = await _read_line(source)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, "malformed chunk size") from None
        sink.write(size_line)
        written += len(size_line)
        if size == 0:
            break
        written += await _relay_exactly(source, sink, size)
        try:
            after_data = await source.readexactly(2)
        except asyncio.IncompleteReadError:
            raise ConnectionError("peer closed the connection inside a chunked body") from None
        if after_data != CRLF:
            raise HttpError(400, "chunk data not followed by CRLF")
        sink.write(CRLF)
        written += 2
    # Trailer fields, then the empty line that ends the body.
    while True:
        line = await _read_line(source)
        sink.write(line)
        written += len(line)
        if line == CRLF:
            await sink.drain()
            return written


async def relay_until_eof(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> int:
    written = 0
    while piece := await source.read(PIECE_BYTES):
        sink.write(piece)
        await sink.drain()
        written += len(piece)
    return written
