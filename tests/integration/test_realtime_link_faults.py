"""The worker's Realtime link (worker/realtime_link.py, the real thing) against a small
Phoenix-protocol server on loopback that misbehaves as a Realtime server under restart or
load can: it never answers a channel's join. The link must keep going (the lease check is
the backstop for pause / cancel), events must name the job they are for, and closing the
link must not report a drop to the worker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from devstack.supabase_api import realtime_protocol as wire
from worker.realtime_link import RealtimeLink


class PhoenixServer:
    """Acks joins and leaves, except of topics in `silent`, and the join of `jobs` only once
    `jobs_ack` is set; broadcasts when told; keeps every message it was sent."""

    def __init__(self, silent: tuple[str, ...] = (), hang_up_after_jobs: bool = False) -> None:
        self.silent = silent
        self.hang_up_after_jobs = hang_up_after_jobs
        self.sockets: list[ServerConnection] = []
        self.joins: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.jobs_ack = asyncio.Event()
        self.jobs_ack.set()

    async def handle(self, socket: ServerConnection) -> None:
        self.sockets.append(socket)
        async for raw in socket:
            message: dict[str, Any] = json.loads(raw)
            self.received.append(message)
            topic, event = message["topic"], message["event"]
            if event == "phx_join":
                self.joins.append(topic)
                if topic.startswith(self.silent):
                    continue
                if topic == "realtime:jobs":
                    await self.jobs_ack.wait()
            if event in ("phx_join", "phx_leave", "heartbeat"):
                await socket.send(wire.ok_reply(topic, message.get("ref")))
                if topic == "realtime:jobs" and self.hang_up_after_jobs:
                    await socket.close(1011)
                    return

    async def broadcast(self, topic: str, event: str) -> None:
        for socket in self.sockets:
            await socket.send(wire.broadcast(f"realtime:{topic}", event, {}, uuid.uuid4().hex))


def _link(port: int) -> RealtimeLink:
    return RealtimeLink(
        f"http://127.0.0.1:{port}",
        "anon-key-for-the-fake",
        "token-for-the-fake",
        heartbeat_seconds=30,
        join_timeout_seconds=1,
    )


@asynccontextmanager
async def linked(server: PhoenixServer) -> AsyncIterator[tuple[RealtimeLink, list[Any]]]:
    async with serve(server.handle, "127.0.0.1", 0) as listening:
        link = _link(next(iter(listening.sockets)).getsockname()[1])
        changes: list[Any] = []
        assert await link.connect(lambda: None, lambda up, error: changes.append((up, error)))
        try:
            yield link, changes
        finally:
            await link.close()


def test_a_job_join_that_fails_in_any_way_leaves_the_worker_and_the_link_going() -> None:
    async def scenario() -> None:
        server = PhoenixServer(silent=("realtime:job:",))
        async with linked(server) as (link, _changes):
            events: list[tuple[str, str]] = []
            # Unanswered: a timeout. Again on the same socket: realtime refuses to subscribe
            # the same topic twice with a plain Exception, which once ended the worker.
            for _ in range(2):
                await link.watch_job("job-a", lambda job, event: events.append((job, event)))
                await link.unwatch_job()
            assert server.joins.count("realtime:job:job-a") == 1
            assert link.connected
            assert link._keeper is not None
            assert not link._keeper.done()

    asyncio.run(scenario())


def test_control_events_name_their_job_and_a_left_job_is_not_heard() -> None:
    async def scenario() -> None:
        server = PhoenixServer()
        async with linked(server) as (link, _changes):
            events: list[tuple[str, str]] = []
            heard = asyncio.Event()

            def on_control(job: str, event: str) -> None:
                events.append((job, event))
                heard.set()

            await link.watch_job("job-a", on_control)
            await link.unwatch_job()
            await link.watch_job("job-b", on_control)
            await server.broadcast("job:job-a", "paused")
            await server.broadcast("job:job-b", "resumed")
            await asyncio.wait_for(heard.wait(), 5)
            assert events == [("job-b", "resumed")]

    asyncio.run(scenario())


def test_closing_the_link_reports_no_drop_to_the_worker() -> None:
    async def scenario() -> None:
        server = PhoenixServer()
        async with linked(server) as (link, changes):
            await link.watch_job("job-a", lambda _job, _event: None)
        assert changes == []
        assert not link.connected

    asyncio.run(scenario())


def test_a_token_refreshed_while_the_link_joins_reaches_realtime() -> None:
    async def scenario() -> None:
        server = PhoenixServer()
        server.jobs_ack.clear()
        async with serve(server.handle, "127.0.0.1", 0) as listening:
            link = _link(next(iter(listening.sockets)).getsockname()[1])
            connecting = asyncio.create_task(link.connect(lambda: None))
            async with asyncio.timeout(5):
                while "realtime:jobs" not in server.joins:  # noqa: ASYNC110 — the server's view
                    await asyncio.sleep(0.01)
            # The refresh lands mid-join, before the link calls itself connected.
            await link.update_token("token-refreshed")
            server.jobs_ack.set()
            try:
                assert await connecting
                # A round trip after it: whatever the link sent first has arrived.
                await link.watch_job("job-a", lambda _job, _event: None)
                tokens = [
                    m["payload"].get("access_token")
                    for m in server.received
                    if m["event"] == "access_token" and m["topic"] == "realtime:jobs"
                ]
                assert tokens[-1:] == ["token-refreshed"], server.received
            finally:
                await link.close()

    asyncio.run(scenario())


def test_a_link_closed_right_after_its_join_is_not_called_connected() -> None:
    async def scenario() -> None:
        # The join's ack and the close arrive together (a server going down mid-join).
        server = PhoenixServer(hang_up_after_jobs=True)
        async with serve(server.handle, "127.0.0.1", 0) as listening:
            link = _link(next(iter(listening.sockets)).getsockname()[1])
            changes: list[Any] = []
            joined = await link.connect(lambda: None, lambda up, e: changes.append((up, e)))
            try:
                # Listening on a socket already gone would skip the short poll for good.
                assert not (link.connected and link._lost.is_set()), (joined, changes)
            finally:
                await link.close()

    asyncio.run(scenario())
