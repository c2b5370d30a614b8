"""Counting database round trips: a loopback proxy in front of Postgres that reads what the
client sends.

Each round trip a client waits on ends with a Sync (extended protocol: Parse/Bind/Execute
then Sync) or is one simple Query; so counting those two message kinds counts round trips,
whatever the statements are (a ping, BEGIN/COMMIT, set_config or the call itself). Bytes are
forwarded unchanged both ways.

    async with WireCounter.running(db_url) as wire:
        ...connect to wire.conninfo...
        wire.reset(); await do_something(); assert wire.round_trips == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator

from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Frontend message types that make the client wait for the server's answer.
SYNC, QUERY = b"S", b"Q"


class WireCounter:
    def __init__(self, target_conninfo: str) -> None:
        params = conninfo_to_dict(target_conninfo)
        self.target_host = str(params.get("host", "127.0.0.1"))
        self.target_port = int(str(params.get("port") or 5432))
        self.target_conninfo = target_conninfo
        self.round_trips = 0
        self.server: asyncio.Server | None = None

    @property
    def conninfo(self) -> str:
        """The target's conninfo through this proxy (no TLS or GSS: the bytes must be plain)."""
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return make_conninfo(
            self.target_conninfo,
            host="127.0.0.1",
            port=port,
            sslmode="disable",
            gssencmode="disable",
        )

    def reset(self) -> None:
        self.round_trips = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, target_conninfo: str) -> AsyncIterator[WireCounter]:
        counter = cls(target_conninfo)
        counter.server = await asyncio.start_server(counter._serve, "127.0.0.1", 0)
        try:
            yield counter
        finally:
            counter.server.close()

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection(self.target_host, self.target_port)
        upstream = asyncio.create_task(self._client_to_server(client, to_server))
        downstream = asyncio.create_task(_pump(server, to_client))
        await asyncio.wait([upstream, downstream], return_when=asyncio.FIRST_COMPLETED)
        for task in (upstream, downstream):
            task.cancel()
        for writer in (to_server, to_client):
            writer.close()

    async def _client_to_server(
        self, client: asyncio.StreamReader, to_server: asyncio.StreamWriter
    ) -> None:
        # The startup packet has a length and no type byte; every later message has both.
        (length,) = struct.unpack("!i", await client.readexactly(4))
        to_server.write(struct.pack("!i", length) + await client.readexactly(length - 4))
        while True:
            header = await client.readexactly(5)
            kind, length = header[:1], struct.unpack("!i", header[1:])[0]
            body = await client.readexactly(length - 4)
            # Counted before it is forwarded, so a caller that has its answer sees the count.
            if kind in (SYNC, QUERY):
                self.round_trips += 1
            to_server.write(header + body)
            await to_server.drain()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
