"""The proxies' admin API, on its own loopback port, served by the same event loop.

    GET  /_admin/stats                    {"proxies": [{index, port, mode, requests, ...}]}
    POST /_admin/proxies/<index>/mode     {"mode": "ok" | "refuse" | "error" | "auth"}
    POST /_admin/reset                    every proxy back to mode ok, counters zeroed

A few lines over our own HTTP/1.1 reader rather than a web framework: it shares the loop and
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

from devstack.proxies import http1
from devstack.proxies.http1 import HttpError
from devstack.proxies.state import Mode, ProxyState

log = logging.getLogger(__name__)

_MODE_PATH = re.compile(r"^/_admin/proxies/(\d+)/mode$")
MAX_BODY_BYTES = 4096


class AdminApi:
    def __init__(self, proxies: Sequence[ProxyState]) -> None:
        self.proxies = {proxy.index: proxy for proxy in proxies}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await self._handle(reader)
        except HttpError as error:
            status, body = error.status, {"detail": error.reason}
        except (ConnectionError, asyncio.IncompleteReadError):
            status, body = 0, {}
        try:
            if status:
                payload = json.dumps(body).encode()
                writer.write(
                    http1.serialise(
                        f"HTTP/1.1 {status} {http1.REASONS.get(status, 'Error')}",
                        [
                            ("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload))),
                            ("Connection", "close"),
                        ],
                    )
                    + payload
                )
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
        head = await http1.read_head(reader)
        if head is None:
            return 0, {}
        method, _, rest = head.start_line.partition(" ")
        path = rest.rsplit(" ", 1)[0].split("?", 1)[0]
        if method == "GET" and path == "/_admin/stats":
            return 200, self.stats()
        if method == "POST" and path == "/_admin/reset":
            for proxy in self.proxies.values():
                proxy.reset()
            log.info("proxies reset", extra={"action": "proxies.reset"})
            return 200, self.stats()
        match = _MODE_PATH.match(path)
        if method == "POST" and match:
            return 200, self._set_mode(int(match.group(1)), await _json_body(reader, head))
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


async def _json_body(reader: asyncio.StreamReader, head: http1.Head) -> dict[str, Any]:
    framing = http1.request_framing(head)
    if framing.kind is not http1.Framing.LENGTH or framing.length > MAX_BODY_BYTES:
        raise HttpError(400, f"body: a JSON object with Content-Length up to {MAX_BODY_BYTES}")
    raw = await reader.readexactly(framing.length)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "body: not JSON") from None
    if not isinstance(body, dict):
        raise HttpError(400, "body: must be a JSON object")
    return body
