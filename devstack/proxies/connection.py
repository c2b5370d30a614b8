"""One client connection to one proxy: forward absolute-URI requests, or tunnel a CONNECT.

h11 keeps both sides framed (devstack/proxies/wire.py). Toward the origin every request gets a
fresh connection with `Connection: close` (simple and correct); toward the client the
connection is kept alive while HTTP/1.1 allows. Every request ends in exactly one
RequestRecord, whatever happened.
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

import h11

from devstack.proxies import wire
from devstack.proxies.state import Mode, ProxyState, RequestRecord
from devstack.proxies.targets import Target, absolute_target, authority_target, connect_address
from devstack.proxies.wire import HttpError

log = logging.getLogger(__name__)

# Fields that describe one hop, never forwarded (RFC 9110 §7.6.1), plus the ones the proxy
# answers itself (Proxy-Authorization, Expect).
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"te",
        b"trailer",
        b"upgrade",
        b"expect",
    }
)


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)  # never in a repr, so never in a log

    def accepts(self, header: bytes | None) -> bool:
        if header is None:
            return False
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, f"{self.user}:{self.password}".encode())


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
        # Accept, then close without a word.
        self.proxy.record(RequestRecord("-", "-", 0, error="refused (mode refuse)"))

    async def _serve_one(self) -> bool:
        """Serve one request; True when the client connection stays open for another."""
        # One h11 connection per request: the head is read off the stream by us, so nothing
        # of the next request can be waiting inside h11.
        client = h11.Connection(h11.SERVER)
        try:
            async with asyncio.timeout(self.timeouts.keep_alive):
                request = await wire.read_request(self.reader, client)
        except TimeoutError:
            return False
        except HttpError as error:
            unreadable = RequestRecord("-", "-", error.status, error=error.reason)
            self._answer(unreadable, error)
            self.proxy.record(unreadable)
            return False
        if request is None:
            return False
        if self.proxy.mode is Mode.REFUSE:
            self._refuse()
            return False

        started = time.monotonic()
        method, uri = request.method.decode(), request.target.decode("latin-1")
        record = RequestRecord(method, _loggable_target(method, uri), 0)
        try:
            if self.proxy.mode is Mode.ERROR:
                raise HttpError(502, "upstream failure (mode error)")
            given = _header(request, b"proxy-authorization")
            if given is None:
                record.challenge = True
                raise HttpError(407, "proxy authentication required (no credentials sent)")
            if self.proxy.mode is Mode.AUTH or not self.credentials.accepts(given):
                raise HttpError(407, "proxy authentication required")
            if method == "CONNECT":
                await self._tunnel(authority_target(uri), record)
                return False
            return await self._forward(client, request, absolute_target(uri), record)
        except HttpError as error:
            record.error = error.reason
            # Once the origin's head has gone out, its status stands and the connection is
            # simply cut; before that, the client gets our own answer.
            if record.bytes_to_client == 0:
                record.status = error.status
                self._answer(record, error)
            return False
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError) as error:
            record.error = record.error or f"connection lost: {type(error).__name__}"
            record.relayed = False
            return False
        finally:
            record.seconds = time.monotonic() - started
            self.proxy.record(record)

    def _answer(self, record: RequestRecord, error: HttpError) -> None:
        headers = [("Proxy-Status", _proxy_status(self.proxy.name, error))]
        if error.status == 407:
            headers.append(("Proxy-Authenticate", 'Basic realm="dbolt"'))
        response = wire.short_response(error.status, f"{error.reason}\n".encode(), headers)
        record.bytes_to_client = len(response)
        with contextlib.suppress(ConnectionError, OSError):
            self.writer.write(response)

    async def _open(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # Checked here, before any socket exists: a refused target never leaves the machine.
        address = connect_address(target.host)
        try:
            async with asyncio.timeout(self.timeouts.connect):
                return await asyncio.open_connection(address, target.port)
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
        self, client: h11.Connection, request: h11.Request, target: Target, record: RequestRecord
    ) -> bool:
        keep_alive = request.http_version == b"1.1" and b"close" not in (
            wire.tokens(request.headers.raw_items(), b"connection")
            | wire.tokens(request.headers.raw_items(), b"proxy-connection")
        )
        origin_reader, origin_writer = await self._open(target)
        origin = h11.Connection(h11.CLIENT)
        try:
            await wire.send(origin, origin_writer, _origin_request(request, target, self.proxy))
            if client.they_are_waiting_for_100_continue:
                # We read the body before the origin answers, so we say "go on" ourselves.
                await wire.send(
                    client,
                    self.writer,
                    h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue"),
                )
            while not isinstance(event := await self._from_client(client), h11.EndOfMessage):
                if not isinstance(event, h11.Data):
                    raise ConnectionError("the client closed the connection inside the body")
                record.bytes_to_origin += len(event.data)
                await wire.send(origin, origin_writer, event)
            await wire.send(origin, origin_writer, h11.EndOfMessage())
            # Bytes past this request (a pipelined one) stay unread by us: close after it.
            keep_alive = keep_alive and not client.trailing_data[0]
            response = await self._origin_response(origin, origin_reader, client)
            record.status = response.status_code
            head = _client_response(response, self.proxy, keep_alive)
            record.bytes_to_client = await wire.send(client, self.writer, head)
            while not isinstance(
                event := await self._from_origin(origin, origin_reader), h11.EndOfMessage
            ):
                if not isinstance(event, h11.Data):
                    raise ConnectionError("the origin closed the connection inside the body")
                record.bytes_to_client += await wire.send(client, self.writer, event)
            record.bytes_to_client += await wire.send(client, self.writer, h11.EndOfMessage())
            record.relayed = True
            return keep_alive
        finally:
            # Not awaiting wait_closed() here keeps the path from the last byte written to
            # the record free of suspension points: when a client has its answer, the
            # counters and the request log already include it.
            origin_writer.close()

    async def _from_client(self, client: h11.Connection) -> h11.Event | type[h11.PAUSED]:
        try:
            return await wire.next_event(client, self.reader)
        except h11.RemoteProtocolError as error:
            # A broken chunk, or the client gone inside its body.
            raise HttpError(400, f"malformed request body: {error}") from None

    async def _from_origin(
        self, origin: h11.Connection, reader: asyncio.StreamReader
    ) -> h11.Event | type[h11.PAUSED]:
        try:
            return await wire.next_event(origin, reader, self.timeouts.idle)
        except TimeoutError:
            raise HttpError(
                504, "the origin did not answer in time", "http_response_timeout"
            ) from None
        except ConnectionError as error:
            raise HttpError(
                502, f"the origin dropped the connection: {error}", "connection_terminated"
            ) from None
        except h11.RemoteProtocolError as error:
            raise HttpError(
                502, f"bad response from the origin: {error}", "http_protocol_error"
            ) from None

    async def _origin_response(
        self, origin: h11.Connection, reader: asyncio.StreamReader, client: h11.Connection
    ) -> h11.Response:
        while True:
            event = await self._from_origin(origin, reader)
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.InformationalResponse):
                # Interim responses (100 Continue, 103 Early Hints) pass straight through.
                await wire.send(
                    client,
                    self.writer,
                    h11.InformationalResponse(
                        status_code=event.status_code,
                        headers=_end_to_end(event),
                        reason=event.reason,
                    ),
                )
                continue
            raise HttpError(
                502, "the origin closed the connection without answering", "connection_terminated"
            )

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
                piece = await source.read(wire.PIECE_BYTES)
            if not piece:
                break
            sink.write(piece)
            await sink.drain()
            copied += len(piece)
        if sink.can_write_eof():
            with contextlib.suppress(OSError):
                sink.write_eof()
        return copied


def _header(request: h11.Request, name: bytes) -> bytes | None:
    return next((value for key, value in request.headers if key == name), None)


def _end_to_end(
    message: h11.Request | h11.Response | h11.InformationalResponse,
) -> list[tuple[bytes, bytes]]:
    """The fields worth forwarding, as sent: not hop-by-hop, not named by Connection."""
    items = message.headers.raw_items()
    named = wire.tokens(items, b"connection")
    return [(k, v) for k, v in items if k.lower() not in _HOP_BY_HOP | named]


def _origin_request(request: h11.Request, target: Target, proxy: ProxyState) -> h11.Request:
    headers = [(b"Host", target.host_header.encode())]
    chunked = b"chunked" in wire.tokens(request.headers.raw_items(), b"transfer-encoding")
    via: list[bytes] = []
    for name, value in _end_to_end(request):
        lowered = name.lower()
        if lowered == b"host" or (lowered == b"content-length" and chunked):
            continue  # Transfer-Encoding wins; forwarding both invites smuggling
        if lowered == b"via":
            via.append(value)
            continue
        headers.append((name, value))
    headers.append((b"Via", b", ".join([*via, f"1.1 {proxy.name}".encode()])))
    headers.append((b"Connection", b"close"))
    return h11.Request(method=request.method, target=target.path, headers=headers)


def _client_response(response: h11.Response, proxy: ProxyState, keep_alive: bool) -> h11.Response:
    headers = _end_to_end(response)
    headers.append((b"Via", f"1.1 {proxy.name}".encode()))
    # RFC 9209: the status came from the origin, so a relayed 502 is the site's own.
    headers.append(
        (b"Proxy-Status", f"{proxy.name}; received-status={response.status_code}".encode())
    )
    if not keep_alive:
        headers.append((b"Connection", b"close"))
    return h11.Response(status_code=response.status_code, headers=headers, reason=response.reason)


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
