"""The devstack Realtime stand-in, driven by the official `realtime` client that supabase-py
ships, against a real migrated database: who may join which topic (decided by our RLS
policies on realtime.messages), what reaches them, heartbeats, token refresh and expiry.

pytest-asyncio is not installed: each test runs one `scenario()` under `asyncio.run`, with a
deadline, and waits for events with short timeouts rather than fixed sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any

import httpx
import jwt
import psycopg
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import ec
from psycopg.types.json import Jsonb
from realtime import AsyncRealtimeChannel, AsyncRealtimeClient, RealtimeSubscribeStates
from realtime.message import ReplyMessage, ServerMessageAdapter
from realtime.types import BroadcastPayload

from dbolt.sql import Queries
from devstack import jwt_keys
from devstack.supabase_api import Settings
from devstack.supabase_api.realtime_feed import LISTENER_APPLICATION_NAME
from devstack.supabase_api.server import ServerThread
from tests.support.queue_helpers import create_job, enable_test_directories

SUBSCRIBED = RealtimeSubscribeStates.SUBSCRIBED
CHANNEL_ERROR = RealtimeSubscribeStates.CHANNEL_ERROR
CLOSED = RealtimeSubscribeStates.CLOSED
SCENARIO_DEADLINE = 40.0
EVENT_TIMEOUT = 5.0

Conn = psycopg.Connection[Any]


# -- harness --------------------------------------------------------------------------------
@pytest.fixture
def standin(db_url: str) -> Iterator[ServerThread]:
    with ServerThread(Settings(database_url=db_url)) as server:
        yield server


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(scenario, SCENARIO_DEADLINE))


class Watch:
    """A channel joined through the official client, and everything it reported."""

    def __init__(self) -> None:
        self.states: asyncio.Queue[tuple[RealtimeSubscribeStates, Exception | None]] = (
            asyncio.Queue()
        )
        self.broadcasts: asyncio.Queue[BroadcastPayload] = asyncio.Queue()
        self.channel: AsyncRealtimeChannel | None = None

    def on_state(self, state: RealtimeSubscribeStates, error: Exception | None) -> None:
        self.states.put_nowait((state, error))

    async def next_state(self) -> tuple[RealtimeSubscribeStates, str]:
        """The next subscription state and the server's reason/message (empty if none)."""
        state, error = await asyncio.wait_for(self.states.get(), EVENT_TIMEOUT)
        if error is None:
            return state, ""
        body = json.loads(str(error))
        return state, str(body.get("reason") or body.get("message"))

    async def next_broadcast(self) -> BroadcastPayload:
        return await asyncio.wait_for(self.broadcasts.get(), EVENT_TIMEOUT)


async def connect(server: ServerThread, token: str | None = None) -> AsyncRealtimeClient:
    client = AsyncRealtimeClient(
        f"{server.url}/realtime/v1", jwt_keys.mint_api_key("anon"), auto_reconnect=False
    )
    await client.connect()
    if token is not None:
        await client.set_auth(token)
    return client


async def join(
    client: AsyncRealtimeClient, topic: str, *events: str, private: bool = True
) -> Watch:
    watch = Watch()
    channel = client.channel(
        topic,
        {
            "config": {
                "private": private,
                "broadcast": {"self": False},
                "presence": {"key": "", "enabled": False},
            }
        },
    )
    for event in events:
        channel.on_broadcast(event, watch.broadcasts.put_nowait)
    watch.channel = await asyncio.wait_for(channel.subscribe(watch.on_state), EVENT_TIMEOUT)
    return watch


def customer_user_id(conn: Conn, email: str) -> str:
    conn.execute("select dev.create_paid_order(%s, 'starter')", (email,))
    row = conn.execute("select user_id from customers where email = %s", (email,)).fetchone()
    assert row is not None
    return str(row[0])


def staff_token() -> str:
    return jwt_keys.mint_access_token(str(uuid.uuid4()), app_metadata={"role": "staff"})


def forged_token(claims_from: str) -> str:
    """The same claims and key id, signed by a key that is not ours."""
    claims = jwt.decode(claims_from, options={"verify_signature": False})
    kid = jwt.get_unverified_header(claims_from)["kid"]
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": kid})


def send_broadcast(
    conn: Conn, topic: str, event: str, payload: dict[str, Any], private: bool
) -> None:
    conn.execute("select realtime.send(%s, %s, %s, %s)", (Jsonb(payload), event, topic, private))


# -- signing keys and tokens -----------------------------------------------------------------
def test_signing_key_is_private_and_jwks_publishes_only_the_public_half() -> None:
    jwt_keys.signing_jwk()
    assert stat.S_IMODE(os.stat(jwt_keys.KEY_PATH).st_mode) == 0o600
    (key,) = jwt_keys.jwks()["keys"]
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert "d" not in key


def test_access_tokens_carry_the_claims_supabase_auth_issues() -> None:
    user_id = str(uuid.uuid4())
    token = jwt_keys.mint_access_token(
        user_id, email="ann@example.com", app_metadata={"role": "staff"}
    )
    claims = jwt_keys.verify(token)
    assert claims["iss"] == f"{jwt_keys.supabase_url()}/auth/v1"
    assert claims["aud"] == "authenticated"
    assert claims["sub"] == user_id
    assert claims["role"] == "authenticated"
    assert claims["aal"] == "aal1"
    assert claims["email"] == "ann@example.com"
    assert claims["phone"] == ""
    assert claims["is_anonymous"] is False
    assert claims["app_metadata"] == {"provider": "email", "providers": ["email"], "role": "staff"}
    assert claims["user_metadata"] == {}
    assert claims["amr"][0]["method"] == "password"
    assert claims["exp"] - claims["iat"] == 3600
    uuid.UUID(claims["session_id"])
    worker = jwt_keys.verify(jwt_keys.mint_worker_token())
    assert worker["sub"] == jwt_keys.WORKER_ACCOUNT_ID
    assert worker["app_metadata"]["role"] == "worker"
    assert jwt_keys.verify(jwt_keys.mint_api_key("service_role"))["role"] == "service_role"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (jwt_keys.mint_worker_token(expires_in=-30), "expired"),
        (forged_token(jwt_keys.mint_worker_token()), "bad_signature"),
        ("not-a-jwt", "malformed"),
    ],
)
def test_verify_refuses_untrustworthy_tokens(token: str, code: str) -> None:
    with pytest.raises(jwt_keys.TokenError) as refused:
        jwt_keys.verify(token)
    assert refused.value.code == code


def test_jwks_endpoint_verifies_minted_tokens(standin: ServerThread) -> None:
    response = httpx.get(f"{standin.url}/auth/v1/.well-known/jwks.json", timeout=5)
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert "d" not in key
    token = jwt_keys.mint_worker_token()
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience="authenticated")
    assert claims["sub"] == jwt_keys.WORKER_ACCOUNT_ID


# -- the issue's three demonstrations ----------------------------------------------------------
def test_worker_on_private_jobs_receives_job_available_after_enqueue(
    standin: ServerThread, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 3)

    async def scenario() -> None:
        client = await connect(standin, jwt_keys.mint_worker_token())
        try:
            watch = await join(client, "jobs", "job_available")
            assert await watch.next_state() == (SUBSCRIBED, "")
            job_id = await asyncio.to_thread(create_job, conn, queries)
            message = await watch.next_broadcast()
            assert message["event"] == "job_available"
            assert message["payload"]["job_id"] == str(job_id)
            assert message["payload"]["status"] == "pending"
            uuid.UUID(message["meta"]["id"])
        finally:
            await client.close()

    run(scenario())


def test_a_customer_is_refused_every_topic_and_staff_hear_the_job_change(
    standin: ServerThread, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 3)
    alice = customer_user_id(conn, "alice@example.com")
    bob = customer_user_id(conn, "bob@example.com")
    alice_token = jwt_keys.mint_access_token(alice, email="alice@example.com")

    async def scenario() -> None:
        client = await connect(standin, alice_token)
        staff_client = await connect(standin, staff_token())
        try:
            # Customer topics were closed by 20261208000410 (the portal relays to them): a
            # customer joins nothing, not even their own.
            for topic in ("staff", f"customer:{bob}", "jobs", f"customer:{alice}"):
                refused = await join(client, topic, "job_status")
                state, reason = await refused.next_state()
                assert state == CHANNEL_ERROR, topic
                assert reason == (
                    "Unauthorized: You do not have permissions to read from this Channel "
                    f"topic: {topic}"
                )
            # Staff, the positive control for the refusals above.
            dashboard = await join(staff_client, "staff", "job_status")
            assert await dashboard.next_state() == (SUBSCRIBED, "")
            job_id = await asyncio.to_thread(
                create_job, conn, queries, "starter", "alice@example.com"
            )
            seen_by_staff = await dashboard.next_broadcast()
            assert seen_by_staff["payload"]["job_id"] == str(job_id)
        finally:
            await client.close()
            await staff_client.close()

    run(scenario())


def test_worker_on_job_topic_receives_paused_for_that_job_only(
    standin: ServerThread, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 3)
    watched = create_job(conn, queries)
    other = create_job(conn, queries)

    def pause(job_id: uuid.UUID) -> None:
        queries.fetch_one(conn, "jobs_pause", job_id=job_id, actor="staff@example.com", reason=None)

    def resume(job_id: uuid.UUID) -> None:
        queries.fetch_one(conn, "jobs_resume", job_id=job_id, actor="staff@example.com")

    async def scenario() -> None:
        client = await connect(standin, jwt_keys.mint_worker_token())
        try:
            watch = await join(client, f"job:{watched}", "paused", "resumed", "cancelled")
            assert await watch.next_state() == (SUBSCRIBED, "")
            await asyncio.to_thread(pause, other)  # another job's topic: must not arrive here
            await asyncio.to_thread(pause, watched)
            paused = await watch.next_broadcast()
            assert paused["event"] == "paused"
            assert paused["payload"]["job_id"] == str(watched)
            assert paused["payload"]["status"] == "paused"
            await asyncio.to_thread(resume, watched)
            resumed = await watch.next_broadcast()
            assert (resumed["event"], resumed["payload"]["job_id"]) == ("resumed", str(watched))
        finally:
            await client.close()

    run(scenario())


# -- protocol: heartbeats, refresh, expiry, refusals ---------------------------------------------
def test_heartbeats_keep_a_socket_open_and_a_silent_socket_is_closed(db_url: str) -> None:
    settings = Settings(database_url=db_url, idle_timeout_seconds=1.0)

    async def scenario(server: ServerThread) -> None:
        url = (
            f"ws://127.0.0.1:{server.port}/realtime/v1/websocket"
            f"?apikey={jwt_keys.mint_api_key('anon')}&vsn=1.0.0"
        )
        async with websockets.connect(url) as socket:
            # Six heartbeats 0.3 s apart outlive the 1 s idle timeout.
            for ref in map(str, range(6)):
                heartbeat = {"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": ref}
                await socket.send(json.dumps(heartbeat))
                reply = ServerMessageAdapter.validate_json(
                    await asyncio.wait_for(socket.recv(), EVENT_TIMEOUT)
                )
                assert isinstance(reply, ReplyMessage)
                assert (reply.topic, reply.ref, reply.payload.status) == ("phoenix", ref, "ok")
                await asyncio.sleep(0.3)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(socket.recv(), EVENT_TIMEOUT)

    with ServerThread(settings) as server:
        run(scenario(server))


def test_refreshed_token_keeps_a_channel_and_an_expired_one_shuts_it(
    standin: ServerThread, conn: Conn, queries: Queries
) -> None:
    enable_test_directories(conn, 3)

    async def scenario() -> None:
        refreshed = await connect(standin, jwt_keys.mint_worker_token(expires_in=2))
        lapsing = await connect(standin, jwt_keys.mint_worker_token(expires_in=2))
        try:
            kept = await join(refreshed, "jobs", "job_available")
            dropped = await join(lapsing, "jobs", "job_available")
            assert await kept.next_state() == (SUBSCRIBED, "")
            assert await dropped.next_state() == (SUBSCRIBED, "")
            await refreshed.set_auth(jwt_keys.mint_worker_token())

            # The unrefreshed token runs out: Realtime's system error, then phx_close.
            state, message = await dropped.next_state()
            assert state == CHANNEL_ERROR
            assert message.startswith("Token has expired")
            assert (await dropped.next_state())[0] == CLOSED

            job_id = await asyncio.to_thread(create_job, conn, queries)
            delivered = await kept.next_broadcast()
            assert delivered["payload"]["job_id"] == str(job_id)
            assert kept.states.empty()

            # A forged refresh is not a refresh: the channel is shut.
            await refreshed.set_auth(forged_token(jwt_keys.mint_worker_token()))
            assert await kept.next_state() == (CHANNEL_ERROR, "Failed to validate JWT signature")
            assert (await kept.next_state())[0] == CLOSED
        finally:
            await refreshed.close()
            await lapsing.close()

    run(scenario())


def test_refresh_to_a_token_without_access_revokes_the_channel(
    standin: ServerThread, conn: Conn
) -> None:
    customer = customer_user_id(conn, "carol@example.com")

    async def scenario() -> None:
        client = await connect(standin, jwt_keys.mint_worker_token())
        try:
            watch = await join(client, "jobs", "job_available")
            assert await watch.next_state() == (SUBSCRIBED, "")
            await client.set_auth(jwt_keys.mint_access_token(customer))
            assert await watch.next_state() == (
                CHANNEL_ERROR,
                "You no longer have permission to read from this Channel topic: jobs",
            )
            assert (await watch.next_state())[0] == CLOSED
        finally:
            await client.close()

    run(scenario())


@pytest.mark.parametrize(
    ("token", "reason_prefix"),
    [
        (jwt_keys.mint_worker_token(expires_in=-60), "InvalidJWTToken: Token has expired"),
        (forged_token(jwt_keys.mint_worker_token()), "JwtSignatureError: "),
        (jwt_keys.mint_access_token(str(uuid.uuid4()), role="postgres"), "Unauthorized: "),
        (jwt_keys.mint_api_key("anon"), "Unauthorized: "),
    ],
    ids=["expired", "forged", "privileged-role", "anon"],
)
def test_untrustworthy_or_unprivileged_tokens_are_refused_at_join(
    standin: ServerThread, token: str, reason_prefix: str
) -> None:
    async def scenario() -> None:
        client = await connect(standin, token)
        try:
            watch = await join(client, "jobs", "job_available")
            state, reason = await watch.next_state()
            assert state == CHANNEL_ERROR
            assert reason.startswith(reason_prefix)
        finally:
            await client.close()

    run(scenario())


@pytest.mark.parametrize(
    "apikey",
    [
        "not-a-jwt",
        forged_token(jwt_keys.mint_api_key("anon")),
        jwt_keys.mint_worker_token(),  # an access token is not an API key
    ],
    ids=["garbage", "forged", "access-token"],
)
def test_a_bad_apikey_is_refused_at_connect(standin: ServerThread, apikey: str) -> None:
    async def scenario() -> None:
        client = AsyncRealtimeClient(f"{standin.url}/realtime/v1", apikey, auto_reconnect=False)
        with pytest.raises(websockets.InvalidStatus) as refused:
            await client.connect()
        assert refused.value.response.status_code == 403

    run(scenario())


# -- delivery ------------------------------------------------------------------------------------
def test_private_rows_reach_private_joins_and_public_rows_public_joins(
    standin: ServerThread, conn: Conn
) -> None:
    big = "x" * 12_000  # beyond one NOTIFY: delivered by id and read back

    async def scenario() -> None:
        service = await connect(standin, jwt_keys.mint_api_key("service_role"))
        public = await connect(standin)
        try:
            private_watch = await join(service, "announcements", "notice")
            public_watch = await join(public, "announcements", "notice", private=False)
            assert await private_watch.next_state() == (SUBSCRIBED, "")
            assert await public_watch.next_state() == (SUBSCRIBED, "")
            for number, private, text in [
                (1, False, ""),
                (2, True, big),
                (3, False, ""),
                (4, True, ""),
            ]:
                payload = {"number": number, "text": text}
                await asyncio.to_thread(
                    send_broadcast, conn, "announcements", "notice", payload, private
                )
            public_numbers = [
                (await public_watch.next_broadcast())["payload"]["number"] for _ in "ab"
            ]
            first, second = (
                await private_watch.next_broadcast(),
                await private_watch.next_broadcast(),
            )
            assert public_numbers == [1, 3]
            assert [first["payload"]["number"], second["payload"]["number"]] == [2, 4]
            assert first["payload"]["text"] == big
        finally:
            await service.close()
            await public.close()

    run(scenario())


def test_left_channel_is_closed_and_receives_nothing_more(
    standin: ServerThread, conn: Conn
) -> None:
    async def scenario() -> None:
        client = await connect(standin, jwt_keys.mint_api_key("service_role"))
        try:
            leaving = await join(client, "alerts", "alert")
            staying = await join(client, "alerts-2", "alert")
            assert await leaving.next_state() == (SUBSCRIBED, "")
            assert await staying.next_state() == (SUBSCRIBED, "")
            assert leaving.channel is not None
            await leaving.channel.unsubscribe()
            assert (await leaving.next_state())[0] == CLOSED
            await asyncio.to_thread(send_broadcast, conn, "alerts", "alert", {"n": 1}, True)
            await asyncio.to_thread(send_broadcast, conn, "alerts-2", "alert", {"n": 2}, True)
            assert (await staying.next_broadcast())["payload"] == {"n": 2}
            assert leaving.broadcasts.empty()
        finally:
            await client.close()

    run(scenario())


def test_feed_listens_again_after_losing_its_database_connection(
    standin: ServerThread, conn: Conn
) -> None:
    def kill_listener() -> int:
        row = conn.execute(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
            " where application_name = %s and datname = current_database()",
            (LISTENER_APPLICATION_NAME,),
        ).fetchone()
        return int(row[0]) if row else 0

    async def scenario() -> None:
        client = await connect(standin, jwt_keys.mint_api_key("service_role"))
        try:
            watch = await join(client, "feed-check", "ping")
            assert await watch.next_state() == (SUBSCRIBED, "")
            assert await asyncio.to_thread(kill_listener) == 1
            # Messages committed while the feed is down are lost (documented), so keep
            # sending until one arrives through the new LISTEN connection.
            deadline = time.monotonic() + 20
            while True:
                await asyncio.to_thread(send_broadcast, conn, "feed-check", "ping", {}, True)
                try:
                    await asyncio.wait_for(watch.broadcasts.get(), 0.5)
                    break
                except TimeoutError:
                    assert time.monotonic() < deadline, "the feed never came back"
        finally:
            await client.close()

    run(scenario())
