"""Refuses request bodies over a size limit with 413, before anything parses them.

One limit for every route, except the few named with a larger one of their own (a parked
directory's browser session is bigger than any other request)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (path pattern, limit): a POST to a path the pattern matches whole gets that limit.
        self.larger = tuple(larger)

    def limit_for(self, scope: Scope) -> int:
        if scope.get("method") == "POST":
            for pattern, limit in self.larger:
                if pattern.fullmatch(scope.get("path", "")):
                    return limit
        return self.max_bytes

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        body = json.dumps(
            {"error": "too_large", "detail": f"request body over {max_bytes} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await self._refuse(send, max_bytes)
                return
        # Chunked bodies carry no length: count as they arrive, answer 413 the moment the
        # limit is passed, and tell the app the client went away so it stops reading.
        received = 0
        responded = False

        async def guarded_send(message: Message) -> None:
            if not responded:
                await send(message)

        async def limited_receive() -> Message:
            nonlocal received, responded
            if responded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    await self._refuse(send, max_bytes)
                    responded = True
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not responded:
                raise
