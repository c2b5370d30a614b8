"""The worker's egress guard: a forward proxy on 127.0.0.1 that every browser context uses.

Playwright's request routing cannot hold this line alone: in Chromium the route handler sees
only the first request of a redirect chain (the network stack follows 3xx itself), so a
public page that answers `302 Location: http://169.254.169.254/` would slip past it. Every
connection Chromium makes — navigations, each redirect hop, subresources, form posts,
fetch/XHR, WebSockets, service workers — goes through the context's proxy, so the check
lives here, before any socket to the destination exists (worker/addresses.py).

One guard per attempt, so what it blocked is that attempt's and the attempt can say why it
ended. Direct connections go to the very addresses that were checked (a second DNS lookup
cannot rebind the name). Through an upstream proxy (PROXY_URLS) the name is checked on the
worker first and then handed to the proxy, which resolves it again in its own network:
a name that answers the worker with a public address and the proxy with a private one
reaches the proxy provider's network, never ours (docs/worker-safety.md).

Plain-HTTP requests are answered with `Connection: close`, one request per connection, so a
second request on a kept-alive connection can never ride past the check.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from worker.addresses import DestinationBlocked, DestinationPolicy, IPAddress
from worker.proxies import Proxy

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
PIECE_BYTES = 64 * 1024
BLOCKED_HEADER = "X-Dbolt-Egress"
GUARD_NAME = "dbolt-egress-guard"
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te"}


class UpstreamFailed(Exception):
    """The destination or the upstream proxy could not be reached; `error` is RFC 9209's."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


@dataclass
class Head:
    start_line: str
    headers: list[tuple[str, str]]

    @classmethod
    def parse(cls, raw: bytes) -> Head:
        lines = raw.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ValueError("malformed header line")
            headers.append((name, value.strip()))
        return cls(lines[0], headers)

    def encode(self, extra: list[tuple[str, str]] | None = None) -> bytes:
        kept = [(k, v) for k, v in self.headers if k.lower() not in _HOP_BY_HOP]
        lines = [self.start_line, *(f"{k}: {v}" for k, v in [*kept, *(extra or [])])]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(status: int, reason: str, text: str, headers: list[tuple[str, str]]) -> bytes:
    body = text.encode()
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _authority(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"bad CONNECT target {target!r}")
    return host.strip("[]"), int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while piece := await reader.read(PIECE_BYTES):
            writer.write(piece)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


@dataclass
class EgressGuard:
    """A forward proxy for one attempt's browser context; `blocked` lists what it refused."""

    policy: DestinationPolicy
    upstream: Proxy | None = None
    connect_timeout: float = 10.0
    blocked: list[str] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> EgressGuard:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def playwright(self) -> dict[str, str]:
        # An explicit empty bypass list: loopback destinations too go through the guard.
        return {"server": f"http://127.0.0.1:{self.port}", "bypass": ""}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except Exception:
            # One broken connection must not take the attempt's other connections down.
            log.exception("egress guard connection failed", extra={"action": "egress.error"})
        finally:
            self._tasks.discard(task)
            await _close(writer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = Head.parse((await reader.readuntil(b"\r\n\r\n"))[:-4])
            method, target, _version = head.start_line.split(" ")
            if method == "CONNECT":
                host, port = _authority(target)
                url = f"{host}:{port}"
            else:
                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    raise ValueError(f"not an absolute http URL: {target!r}")
                host, port, url = parts.hostname, parts.port or 80, target
        except ValueError as error:
            writer.write(_answer(400, "Bad Request", f"{error}\n", []))
            return
        try:
            addresses = await self.policy.check(host, port)
        except DestinationBlocked as blocked:
            self._refuse(writer, method, url, blocked)
            return
        except (OSError, TimeoutError):
            if self.upstream is None:
                writer.write(self._failure(502, "dns_error", f"{host} does not resolve"))
                return
            addresses = []  # the upstream resolves in its own network; nothing here to check
        try:
            if method == "CONNECT":
                server_reader, server_writer = await self._tunnel(host, port, addresses)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await self._relay(reader, writer, server_reader, server_writer)
            else:
                await self._forward(head, target, host, port, addresses, reader, writer)
        except UpstreamFailed as failure:
            writer.write(self._failure(failure.status, failure.error, failure.detail))

    def _refuse(
        self, writer: asyncio.StreamWriter, method: str, url: str, blocked: DestinationBlocked
    ) -> None:
        # Without the query: a form sent by GET would put the customer's details in it.
        message = f"blocked {method} {url.split('?', 1)[0]}: {blocked.reason}"
        self.blocked.append(message)
        log.warning(
            "egress blocked",
            extra={"action": "egress.blocked", "destination": f"{blocked.host}:{blocked.port}"},
        )
        text = f"The worker does not let directory sites reach this address.\n{message}\n"
        writer.write(_answer(403, "Forbidden", text, [(BLOCKED_HEADER, "blocked")]))

    def _failure(self, status: int, error: str, detail: str) -> bytes:
        reason = {502: "Bad Gateway", 504: "Gateway Timeout"}.get(status, "Error")
        # Through an upstream proxy a failure is the proxy's to explain (worker/pages.py).
        name = GUARD_NAME if self.upstream is None else "dbolt-upstream-proxy"
        status_field = f'{name}; error={error}; details="{detail[:200]}"'
        return _answer(status, reason, detail + "\n", [("Proxy-Status", status_field)])

    async def _forward(
        self,
        head: Head,
        target: str,
        host: str,
        port: int,
        addresses: list[IPAddress],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        method, _, version = head.start_line.split(" ")
        extra = [("Connection", "close")]
        if self.upstream is not None and self.upstream.server.startswith("http://"):
            # An HTTP upstream takes the absolute URL (its logs show what was fetched).
            server_reader, server_writer = await self._open_upstream()
            start = f"{method} {target} {version}"
            extra += self._upstream_auth()
        else:
            server_reader, server_writer = await self._tunnel(host, port, addresses)
            parts = urlsplit(target)
            path = parts.path or "/"
            start = f"{method} {path}{'?' + parts.query if parts.query else ''} {version}"
        server_writer.write(Head(start, head.headers).encode(extra))
        await server_writer.drain()
        await self._relay(reader, writer, server_reader, server_writer, rewrite_response=True)

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        server_reader: asyncio.StreamReader,
        server_writer: asyncio.StreamWriter,
        rewrite_response: bool = False,
    ) -> None:
        upload = asyncio.create_task(_pipe(reader, server_writer))
        try:
            if rewrite_response:
                raw = (await server_reader.readuntil(b"\r\n\r\n"))[:-4]
                writer.write(Head.parse(raw).encode([("Connection", "close")]))
            await _pipe(server_reader, writer)
        finally:
            upload.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upload
            await _close(server_writer)

    async def _connect(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await asyncio.open_connection(host, port, limit=MAX_HEAD_BYTES)
        except TimeoutError:
            raise UpstreamFailed(
                504, "connection_timeout", f"connecting to {host}:{port} timed out"
            ) from None
        except ConnectionRefusedError:
            raise UpstreamFailed(
                502, "connection_refused", f"{host}:{port} refused the connection"
            ) from None
        except OSError as error:
            raise UpstreamFailed(
                502, "destination_unavailable", f"cannot reach {host}:{port}: {error}"
            ) from None

    async def _tunnel(
        self, host: str, port: int, addresses: list[IPAddress]
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A byte stream to host:port: straight to a checked address, or through the upstream."""
        if self.upstream is None:
            failure: UpstreamFailed | None = None
            for address in addresses:
                try:
                    return await self._connect(str(address), port)
                except UpstreamFailed as error:
                    failure = error
            raise failure or UpstreamFailed(502, "dns_error", f"{host} has no address")
        if self.upstream.server.startswith("socks5://"):
            return await self._socks5(host, port)
        server_reader, server_writer = await self._open_upstream()
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        request = Head(f"CONNECT {authority} HTTP/1.1", [("Host", authority)])
        server_writer.write(request.encode(self._upstream_auth()))
        await server_writer.drain()
        answer = Head.parse((await server_reader.readuntil(b"\r\n\r\n"))[:-4])
        status = answer.start_line.split(" ")[1] if " " in answer.start_line else ""
        if status != "200":
            await _close(server_writer)
            upstream_error = next((v for k, v in answer.headers if k.lower() == "proxy-status"), "")
            kind = "proxy_internal_error"
            if "error=" in upstream_error:
                kind = upstream_error.split("error=", 1)[1].split(";")[0].strip()
            raise UpstreamFailed(502, kind, f"the proxy answered {status} to CONNECT {authority}")
        return server_reader, server_writer

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        assert self.upstream is not None
        parts = urlsplit(self.upstream.server)
        assert parts.hostname
        assert parts.port
        try:
            return await self._connect(parts.hostname, parts.port)
        except UpstreamFailed as failure:
            raise UpstreamFailed(
                502, "proxy_internal_error", f"the proxy: {failure.detail}"
            ) from None

    def _upstream_auth(self) -> list[tuple[str, str]]:
        if self.upstream is None or not self.upstream.username:
            return []
        pair = f"{self.upstream.username}:{self.upstream.password or ''}".encode()
        return [("Proxy-Authorization", "Basic " + base64.b64encode(pair).decode())]

    async def _socks5(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """RFC 1928 CONNECT by name (RFC 1929 user/password when the proxy has one)."""
        assert self.upstream is not None
        server_reader, server_writer = await self._open_upstream()
        user = (self.upstream.username or "").encode()
        password = (self.upstream.password or "").encode()
        server_writer.write(b"\x05\x01\x02" if user else b"\x05\x01\x00")
        version, method = await server_reader.readexactly(2)
        if version != 5 or method == 0xFF:
            raise UpstreamFailed(502, "proxy_internal_error", "the SOCKS proxy refused us")
        if method == 2:
            server_writer.write(bytes([1, len(user)]) + user + bytes([len(password)]) + password)
            if (await server_reader.readexactly(2))[1] != 0:
                raise UpstreamFailed(
                    502, "proxy_internal_error", "the SOCKS proxy refused our login"
                )
        name = host.encode("idna")
        server_writer.write(
            b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port)
        )
        reply = await server_reader.readexactly(4)
        if reply[1] != 0:
            kind = "connection_refused" if reply[1] == 5 else "destination_unavailable"
            raise UpstreamFailed(502, kind, f"the SOCKS proxy could not reach {host}:{port}")
        skip = {1: 4, 4: 16}.get(reply[3])
        if skip is None:
            skip = (await server_reader.readexactly(1))[0]
        await server_reader.readexactly(skip + 2)
        return server_reader, server_writer
