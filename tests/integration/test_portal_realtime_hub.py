"""One Realtime connection per portal process (portal/realtime_hub.py): many viewers of the
same and of different jobs share it, each hears only its own job, and the socket closes
when the last viewer leaves. One attempt costs two messages (migration 20261208000400)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from devstack import jwt_keys
from devstack.supabase_api import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal.realtime_hub import RealtimeHub
from portal.staff.live import _Inbox
from tests.support.orchestrator_harness import wait_for
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import REALTIME_ONLY, EventStream, make_job, served_portal


def _runtime(stack: PortalStack) -> Any:
    app: Any = stack.supabase._server.config.app
    return app.state.runtime


def _live(stream: EventStream) -> dict[str, Any]:
    data: dict[str, Any] = stream.next()["data"]
    while not data["live"]:
        data = stream.next()["data"]
    return data


def _messages(stack: PortalStack, job_id: Any) -> int:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select count(*) from realtime.messages where payload ->> 'job_id' = %s",
            (str(job_id),),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_viewers_share_one_socket_and_an_attempt_costs_two_messages(
    portal_stack: PortalStack,
) -> None:
    watched = make_job(portal_stack, "hal@example.com", directories=2)
    watched.claim()
    other = make_job(portal_stack, "ivy@example.com", directories=1)
    runtime = _runtime(portal_stack)
    sockets_before = runtime.open_sockets
    hal = access_token(watched.customer.user_id, watched.customer.email)
    ivy = access_token(other.customer.user_id, other.customer.email)
    with served_portal(portal_stack, REALTIME_ONLY) as (url, _app):
        streams = [
            EventStream(f"{url}/jobs/{watched.id}/events", hal),
            EventStream(f"{url}/jobs/{watched.id}/events", hal),
            EventStream(f"{url}/jobs/{watched.id}/events", hal),
            EventStream(f"{url}/jobs/{other.id}/events", ivy),
        ]
        try:
            for stream in streams:
                assert _live(stream)["done"] == 0
            # Four viewers, two customers, two jobs: one socket on Realtime, one topic.
            assert runtime.open_sockets == sockets_before + 1
            assert runtime.hub.topic_count() == 1

            before = _messages(portal_stack, watched.id)
            watched.start(watched.directories[0])
            watched.report(watched.directories[0])
            assert _messages(portal_stack, watched.id) - before == 2
            for stream in streams[:3]:
                update = stream.next()["data"]
                while update["done"] != 1:
                    update = stream.next()["data"]
            # The other job's viewer was not woken: nothing of its job changed.
            assert streams[3].events.empty()
        finally:
            for stream in streams:
                stream.close()
        # The last viewer gone, the portal leaves the topic and closes its socket.
        wait_for(lambda: runtime.open_sockets == sockets_before, timeout=15)
        assert runtime.hub.topic_count() == 0


# -- the hub itself, in-process against the Realtime stand-in ---------------------------------
class _Settings:
    def __init__(self, url: str) -> None:
        self.supabase_url = url
        self.supabase_anon_key = SecretStr(jwt_keys.mint_api_key("anon"))
        self.supabase_service_role_key = SecretStr(jwt_keys.mint_api_key("service_role"))


class _Heard:
    def __init__(self) -> None:
        self.said: list[str] = []
        self.errors: list[Exception | None] = []
        self.stirred = asyncio.Event()

    def joined(self) -> None:
        self.said.append("joined")
        self.stirred.set()

    def broadcast(self, event: str, payload: dict[str, Any]) -> None:
        self.said.append(f"{event}:{payload.get('job_id')}")
        self.stirred.set()

    def lost(self, error: Exception | None) -> None:
        self.said.append("lost")
        self.errors.append(error)
        self.stirred.set()

    async def hears(self, word: str, times: int = 1) -> None:
        while self.said.count(word) < times:
            self.stirred.clear()
            await asyncio.wait_for(self.stirred.wait(), 10)


DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, the socket is refused


def test_the_hub_joins_only_staff_and_tells_a_newcomer_in_a_pause_at_once() -> None:
    async def scenario() -> None:
        hub = RealtimeHub(_Settings(DEAD_URL), rejoin_seconds=30.0)  # a long pause
        first, newcomer = _Heard(), _Heard()
        try:
            # The hub joins as the service role: a customer topic (or any other) is refused.
            with pytest.raises(ValueError, match="does not join"):
                async with hub.listening("customer:someone", first):
                    pass
            async with hub.listening("staff", first):
                await first.hears("lost")
                # Now in the 30 s pause: the newcomer hears `lost`, with why, on arriving.
                async with hub.listening("staff", newcomer):
                    assert newcomer.said == ["lost"]
                    assert newcomer.errors[0] is not None
        finally:
            await hub.aclose()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_join_resets_the_pause_and_a_broadcast_wakes_only_its_job(db_url: str) -> None:
    async def scenario(server: ServerThread) -> None:
        settings = _Settings(DEAD_URL)
        hub = RealtimeHub(settings, rejoin_seconds=0.05, rejoin_max_seconds=60.0)
        everything, job_a, job_b = _Heard(), _Heard(), _Heard()
        before = asyncio.all_tasks()
        try:
            async with (
                hub.listening("staff", everything),
                hub.listening("staff", job_a, "a"),
                hub.listening("staff", job_b, "b"),
            ):
                # A few drops in a row: the pause has grown.
                await everything.hears("lost", times=4)
                assert hub.pause_seconds >= 0.2
                settings.supabase_url = server.url  # Realtime is back
                await everything.hears("joined")
                assert hub.pause_seconds == 0.05  # SUBSCRIBED set it back to the shortest
                with psycopg.connect(db_url, autocommit=True) as conn:
                    conn.execute(
                        "insert into realtime.messages (topic, extension, event, payload, private)"
                        " values ('staff', 'broadcast', 'progress', '{\"job_id\": \"a\"}', true)"
                    )
                await job_a.hears("progress:a")
                await everything.hears("progress:a")
                assert "progress:a" not in job_b.said  # another job's viewer is not woken
                # Cancelled while it waits for news: nothing of the hub's is left running.
                await hub.aclose()
                assert asyncio.all_tasks() <= before
        finally:
            await hub.aclose()

    with ServerThread(SupabaseSettings(database_url=db_url)) as server:
        asyncio.run(asyncio.wait_for(scenario(server), 30))


def test_a_full_staff_inbox_drops_its_oldest_broadcast_never_degraded() -> None:
    inbox = _Inbox()
    inbox.joined()
    for n in range(1500):
        inbox.broadcast("progress", {"n": n})
    inbox.lost(None)
    assert list(inbox.states) == [True, False]
    assert len(inbox.news) == 1000
    assert inbox.news[0][1]["n"] == 500  # the oldest went, the newest stayed
