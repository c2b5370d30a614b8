"""The cheap HTTP client (`--http-client raw`): one keep-alive connection per simulated worker,
requests written as prepared bytes, answers read by Content-Length and parsed with json.

The simulated workers share the machine's CPUs with the orchestrator and Postgres; httpx
with the worker client's models costs this process about a millisecond of CPU per request
(`--http-client own`), several times what psycopg costs the direct path per call, and that
CPU is taken from the two processes being compared. This client does the least a worker's
HTTP needs, so the ratio to direct SQL measures the orchestrator rather than httpx; the
direct path's client (psycopg on a pool) is already the least its calls need.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from bench.orchestrator.drain import Claim, confirmed_success


class RawConnection:
    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    async def post(self, path: str, body: bytes) -> tuple[int, Any]:
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(
            b"POST "
            + path.encode()
            + b" HTTP/1.1\r\n"
            + self.head
            + b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        content = await self.reader.readexactly(length) if length else b""
        if status >= 300:
            raise RuntimeError(f"POST {path} answered {status}: {content[:200]!r}")
        return status, json.loads(content) if content else None


class RawDoor:
    def __init__(self, connection: RawConnection, worker_id: str) -> None:
        self.connection = connection
        self.claim_body = json.dumps({"worker_id": worker_id}).encode()

    async def claim(self) -> Claim | None:
        status, body = await self.connection.post("/jobs-next", self.claim_body)
        if status == 204:
            return None
        directory_ids = tuple(task["directory_id"] for task in body["directories"])
        return Claim(uuid.UUID(body["job_id"]), uuid.UUID(body["lease_token"]), directory_ids)

    async def report(self, claim: Claim, directory_id: str) -> None:
        # The same report, serialised as dbolt's worker client sends it.
        report = confirmed_success(claim, directory_id).model_dump_json()
        await self.connection.post(f"/jobs/{claim.job_id}/attempts", report.encode())

    async def complete(self, claim: Claim) -> None:
        body = json.dumps({"lease_token": str(claim.lease_token)}).encode()
        await self.connection.post(f"/jobs/{claim.job_id}/complete", body)
