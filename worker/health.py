"""A tiny /healthz for the worker (HEALTH_PORT): what it is doing and how it hears of work."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field


@dataclass
class WorkerStatus:
    worker_id: str
    started_at: float = field(default_factory=time.monotonic)
    state: str = "starting"  # idle | working | stopping
    current_job: str | None = None
    wake_ups: str = "polling"  # realtime | polling
    realtime_error: str | None = None
    jobs_done: int = 0
    proxies_healthy: int | None = None
    reports_waiting: int = 0

    def body(self) -> bytes:
        data = asdict(self) | {"uptime_seconds": round(time.monotonic() - self.started_at, 1)}
        data.pop("started_at")
        return json.dumps(data).encode()


async def serve_health(status: WorkerStatus, port: int) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            body = status.body()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)
