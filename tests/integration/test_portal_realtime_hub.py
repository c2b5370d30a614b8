"""One Realtime connection per portal process (portal/realtime_hub.py): many viewers of the
same and of different jobs share it, each hears only its own job, and the socket closes
when the last viewer leaves. One attempt costs two messages (migration 20261208000400)."""

from __future__ import annotations

from typing import Any

import psycopg

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
