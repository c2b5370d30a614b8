"""The proxies' admin API, on its own loopback port, served by the same event loop.

    GET  /_admin/stats                    {"proxies": [{index, port, mode, requests, ...}]}
    POST /_admin/proxies/<index>/mode     {"mode": "ok" | "refuse" | "error" | "auth"}
    POST /_admin/reset                    every proxy back to mode ok, counters zeroed

Served over the proxies' own h11 wiring rather than a web framework: it shares the loop and
the state with the proxies, and this process keeps its signal handling to itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Sequence
from typing import Any

import h11

from devstack.proxies import wire
from devstack.proxies.state import Mode, ProxyState
from devstack.proxies.wire import HttpError

log = logging.getLogger(__name__)

_MODE_PATH = re.compile(r"^/_admin/proxies/(\d+)/mode$")
MAX_BODY_BYTES = 4096


class AdminApi:
    def __init__(self, proxies: Sequence[ProxyState]) -> None:
        self.proxies = {proxy.index: proxy for proxy in proxies}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            status, body = await self._handle(conn, reader)
        except HttpError as error:
            status, body = error.status, {"detail": error.reason}
        except (ConnectionError, asyncio.IncompleteReadError):
            status, body = 0, {}
        try:
            if status:
                payload = json.dumps(body).encode()
                writer.write(wire.short_response(status, payload, [], "application/json"))
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _handle(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> tuple[int, dict[str, Any]]:
        request = await wire.read_request(reader, conn)
        if request is None:
            return 0, {}
        method = request.method.decode()
        path = request.target.decode("latin-1").split("?", 1)[0]
        if method == "GET" and path == "/_admin/stats":
            return 200, self.stats()
        if method == "POST" and path == "/_admin/reset":
            for proxy in self.proxies.values():
                proxy.reset()
            log.info("proxies reset", extra={"action": "proxies.reset"})
            return 200, self.stats()
        match = _MODE_PATH.match(path)
        if method == "POST" and match:
            return 200, self._set_mode(int(match.group(1)), await _json_body(conn, reader))
        if path == "/_admin/stats" or path == "/_admin/reset" or match:
            raise HttpError(405, f"{method} is not allowed on {path}")
        raise HttpError(404, f"no such admin endpoint: {path}")

    def stats(self) -> dict[str, Any]:
        return {"proxies": [proxy.snapshot() for proxy in self.proxies.values()]}

    def _set_mode(self, index: int, body: dict[str, Any]) -> dict[str, Any]:
        proxy = self.proxies.get(index)
        if proxy is None:
            raise HttpError(404, f"no proxy {index}; proxies are 1..{len(self.proxies)}")
        choices = [mode.value for mode in Mode]
        requested = body.get("mode")
        if requested not in choices:
            raise HttpError(400, f"mode: must be one of {', '.join(choices)}")
        proxy.mode = Mode(requested)
        log.info(
            "proxy mode changed",
            extra={"action": "proxies.mode_changed", "proxy": index, "mode": proxy.mode.value},
        )
        return proxy.snapshot()


async def _json_body(conn: h11.Connection, reader: asyncio.StreamReader) -> dict[str, Any]:
    raw = b""
    while not isinstance(event := await wire.next_event(conn, reader), h11.EndOfMessage):
        if not isinstance(event, h11.Data) or len(raw) + len(event.data) > MAX_BODY_BYTES:
            raise HttpError(400, f"body: a JSON object of up to {MAX_BODY_BYTES} bytes")
        raw += event.data
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "body: not JSON") from None
    if not isinstance(body, dict):
        raise HttpError(400, "body: must be a JSON object")
    return body
