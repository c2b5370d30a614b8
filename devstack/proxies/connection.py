"""One client connection to one proxy: forward absolute-URI requests, or tunnel a CONNECT.

Toward the origin every request gets a fresh connection with `Connection: close` (simple and
correct); toward the client the connection is kept alive when HTTP/1.1 framing allows.
Every request ends in exactly one RequestRecord, whatever happened.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import os
import time
from dataclasses import dataclass, field

from devstack.proxies import http1
from devstack.proxies.http1 import BodyFraming, Framing, Head, HttpError
from devstack.proxies.state import Mode, ProxyState, RequestRecord
from devstack.proxies.targets import (
    Target,
    absolute_target,
    authority_target,
    connect_address,
)

log = logging.getLogger(__name__)

# Fields that describe one hop, never forwarded (RFC 9110 §7.6.1), plus the ones the proxy
# answers itself (Proxy-Authorization, Expect).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)  # never in a repr, so never in a log

    def accepts(self, header: str | None) -> bool:
        if header is None:
            return False
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.user}:{self.password}".encode()
        return hmac.compare_digest(given, expected)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    # Waiting for the origin's response head, and for any byte of a tunnel.
    idle: float = 120.0
    # A kept-alive client connection with no new request.
    keep_alive: float = 60.0


class ClientConnection:
    def __init__(
        self,
        proxy: ProxyState,
        credentials: Credentials,
        timeouts: Timeouts,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.proxy = proxy
        self.credentials = credentials
        self.timeouts = timeouts
        self.reader = reader
        self.writer = writer

    async def serve(self) -> None:
        try:
            if self.proxy.mode is Mode.REFUSE:
                self._refuse()
                return
            while await self._serve_one():
                pass
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or stalled; its record (if any) is already written
        except Exception:
            # One broken connection must not take the proxy down: log it and carry on.
            log.exception(
                "proxy connection failed",
                extra={"action": "proxy.connection_error", "proxy": self.proxy.index},
            )
        finally:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    def _refuse(self) -> None:
        self.proxy.record(RequestRecord("-", "-", 0, error="refused (mode refuse)"))

    async def _serve_one(self) -> bool:
        """Serve one request; True when the client connection stays open for another."""
        try:
            async with asyncio.timeout(self.timeouts.keep_alive):
                head = await http1.read_head(self.reader)
        except TimeoutError:
            return False
        except HttpError as error:
            unreadable = RequestRecord("-", "-", error.status, error=error.reason)
            await self._answer(unreadable, error)
            self.proxy.record(unreadable)
            return False
        if head is None:
            return False
        if self.proxy.mode is Mode.REFUSE:
            self._refuse()
            return False

        started = time.monotonic()
        method, uri, version = _request_line(head)
        record = RequestRecord(method or "-", _loggable_target(method, uri), 0)
        try:
            if not method:
                raise HttpError(400, "malformed request line")
            if self.proxy.mode is Mode.ERROR:
                raise HttpError(502, "upstream failure (mode error)")
            given = head.get("proxy-authorization")
            if given is None:
                record.challenge = True
                raise HttpError(407, "proxy authentication required (no credentials sent)")
            if self.proxy.mode is Mode.AUTH or not self.credentials.accepts(given):
                raise HttpError(407, "proxy authentication required")
            if method == "CONNECT":
                await self._tunnel(authority_target(uri), record)
                return False
            return await self._forward(head, method, version, absolute_target(uri), record)
        except HttpError as error:
            record.error = error.reason
            # Once the origin's head has gone out, its status stands and the connection is
            # simply cut; before that, the client gets our own answer.
            if record.bytes_to_client == 0:
                record.status = error.status
                await self._answer(record, error)
            return False
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError) as error:
            record.error = record.error or f"connection lost: {type(error).__name__}"
            record.relayed = False
            return False
        finally:
            record.seconds = time.monotonic() - started
            self.proxy.record(record)

    async def _answer(self, record: RequestRecord, error: HttpError) -> None:
        extra = [("Proxy-Status", _proxy_status(self.proxy.name, error))]
        if error.status == 407:
            extra.append(("Proxy-Authenticate", 'Basic realm="dbolt"'))
        response = http1.simple_response(error.status, f"{error.reason}\n", extra)
        record.bytes_to_client = len(response)
        with contextlib.suppress(ConnectionError, OSError):
            self.writer.write(response)
            await self.writer.drain()

    async def _open(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # Checked here, before any socket exists: a refused target never leaves the machine.
        address = connect_address(target.host)
        try:
            async with asyncio.timeout(self.timeouts.connect):
                return await asyncio.open_connection(
                    address, target.port, limit=http1.MAX_HEAD_BYTES
                )
        except TimeoutError:
            raise HttpError(
                504, f"connecting to {target.authority} timed out", "connection_timeout"
            ) from None
        except OSError as error:
            # Refused: nothing listens there, the site is down. Anything else: unreachable.
            kind = (
                "connection_refused"
                if isinstance(error, ConnectionRefusedError)
                else "destination_unavailable"
            )
            # asyncio's strerror is "Connect call failed (...)"; the errno says more.
            cause = os.strerror(error.errno) if error.errno else str(error)
            raise HttpError(502, f"cannot connect to {target.authority}: {cause}", kind) from None

    async def _forward(
        self, head: Head, method: str, version: str, target: Target, record: RequestRecord
    ) -> bool:
        request_framing = http1.request_framing(head)
        client_keeps_alive = version == "HTTP/1.1" and "close" not in (
            head.tokens("connection") + head.tokens("proxy-connection")
        )
        origin_reader, origin_writer = await self._open(target)
        try:
            origin_writer.write(self._origin_head(head, method, target, request_framing))
            if "100-continue" in head.tokens("expect") and request_framing.kind is not Framing.NONE:
                # We consume the body before the origin answers, so we say "go on" ourselves.
                self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            record.bytes_to_origin = await http1.relay_body(
                self.reader, origin_writer, request_framing
            )
            await origin_writer.drain()
            response, status = await self._origin_response(origin_reader)
            framing = http1.response_framing(response, status, method)
            keep_alive = client_keeps_alive and framing.kind is not Framing.UNTIL_CLOSE
            record.status = status
            client_head = self._client_head(response, keep_alive, status)
            self.writer.write(client_head)
            record.bytes_to_client = len(client_head)
            record.bytes_to_client += await http1.relay_body(origin_reader, self.writer, framing)
            await self.writer.drain()
            record.relayed = True
            return keep_alive
        finally:
            # Not awaiting wait_closed() here keeps the path from the last byte written to
            # the record free of suspension points: when a client has its answer, the
            # counters and the request log already include it.
            origin_writer.close()

    def _origin_head(self, head: Head, method: str, target: Target, framing: BodyFraming) -> bytes:
        named_by_connection = set(head.tokens("connection"))
        headers = [("Host", target.host_header)]
        via = None
        for name, value in head.headers:
            lowered = name.lower()
            if lowered in _HOP_BY_HOP or lowered in named_by_connection or lowered == "host":
                continue
            if lowered == "content-length" and framing.kind is Framing.CHUNKED:
                continue  # Transfer-Encoding wins; forwarding both invites smuggling
            if lowered == "via":
                via = value if via is None else f"{via}, {value}"
                continue
            headers.append((name, value))
        own_via = f"1.1 {self.proxy.name}"
        headers.append(("Via", own_via if via is None else f"{via}, {own_via}"))
        headers.append(("Connection", "close"))
        return http1.serialise(f"{method} {target.path} HTTP/1.1", headers)

    async def _origin_response(self, origin: asyncio.StreamReader) -> tuple[Head, int]:
        while True:
            try:
                async with asyncio.timeout(self.timeouts.idle):
                    response = await http1.read_head(origin)
            except TimeoutError:
                raise HttpError(
                    504, "the origin did not answer in time", "http_response_timeout"
                ) from None
            except ConnectionError as error:
                raise HttpError(
                    502, f"the origin dropped the connection: {error}", "connection_terminated"
                ) from None
            except HttpError as error:
                raise HttpError(
                    502, f"bad response from the origin: {error.reason}", "http_protocol_error"
                ) from None
            if response is None:
                raise HttpError(
                    502,
                    "the origin closed the connection without answering",
                    "connection_terminated",
                )
            status = _status_code(response)
            if status == 101:
                raise HttpError(502, "protocol upgrades are not supported", "http_upgrade_failed")
            if 100 <= status < 200:
                # Interim responses (100 Continue, 103 Early Hints) pass straight through.
                self.writer.write(self._client_head(response, keep_alive=True))
                continue
            return response, status

    def _client_head(self, response: Head, keep_alive: bool, status: int | None = None) -> bytes:
        named_by_connection = set(response.tokens("connection"))
        headers = [
            (name, value)
            for name, value in response.headers
            if name.lower() not in _HOP_BY_HOP and name.lower() not in named_by_connection
        ]
        headers.append(("Via", f"1.1 {self.proxy.name}"))
        if status is not None:
            # RFC 9209: the status came from the origin, so a relayed 502 is the site's own.
            headers.append(("Proxy-Status", f"{self.proxy.name}; received-status={status}"))
        if not keep_alive:
            headers.append(("Connection", "close"))
        return http1.serialise(response.start_line, headers)

    async def _tunnel(self, target: Target, record: RequestRecord) -> None:
        origin_reader, origin_writer = await self._open(target)
        self.proxy.counters.tunnels += 1
        established = b"HTTP/1.1 200 Connection Established\r\n\r\n"
        record.status = 200
        record.bytes_to_client = len(established)
        pipes: list[asyncio.Task[int]] = []
        try:
            self.writer.write(established)
            await self.writer.drain()
            pipes = [
                asyncio.create_task(self._pipe(self.reader, origin_writer)),
                asyncio.create_task(self._pipe(origin_reader, self.writer)),
            ]
            # Both directions end normally, or the first failure ends the tunnel.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for pipe in pipes:
                pipe.cancel()
            results = await asyncio.gather(*pipes, return_exceptions=True)
            origin_writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await origin_writer.wait_closed()
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            # The direction that broke, not the one cancelled because of it.
            cause = [f for f in failures if not isinstance(f, asyncio.CancelledError)] or failures
            record.error = f"tunnel broken: {type(cause[0]).__name__}"
            return
        upstream, downstream = (result for result in results if isinstance(result, int))
        record.bytes_to_origin = upstream
        record.bytes_to_client += downstream
        record.relayed = True

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> int:
        """Copy until `source` ends, then half-close `sink` so the other side sees the end."""
        copied = 0
        while True:
            async with asyncio.timeout(self.timeouts.idle):
                piece = await source.read(http1.PIECE_BYTES)
            if not piece:
                break
            sink.write(piece)
            await sink.drain()
            copied += len(piece)
        if sink.can_write_eof():
            with contextlib.suppress(OSError):
                sink.write_eof()
        return copied


def _proxy_status(proxy_name: str, error: HttpError) -> str:
    """An RFC 9209 Proxy-Status member: who answered, the error type, and the details."""
    details = "".join(c for c in error.reason if " " <= c <= "~")
    details = details.replace("\\", "\\\\").replace('"', '\\"')
    return f'{proxy_name}; error={error.proxy_error}; details="{details}"'


def _loggable_target(method: str, uri: str) -> str:
    """What the request log may say about the target: no credentials, no query string."""
    try:
        if method == "CONNECT":
            return authority_target(uri).authority
        return absolute_target(uri).loggable
    except HttpError:
        return "-"


def _request_line(head: Head) -> tuple[str, str, str]:
    """(method, target, version); ("", "", "") when the line is malformed."""
    parts = head.start_line.split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        return "", "", ""
    return parts[0].upper(), parts[1], parts[2]


def _status_code(response: Head) -> int:
    parts = response.start_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(502, "malformed status line from the origin", "http_protocol_error")
    return int(parts[1])
