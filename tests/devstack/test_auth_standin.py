"""The devstack Supabase Auth stand-in, driven by the official supabase-py client (sync) over
real HTTP against a real migrated database: magic links and codes caught by a real SMTP
server, password sign-in, refresh rotation and reuse, the user endpoints, sign-out, the admin
API, token verification against the JWKS, and RLS under the tokens it issues.
"""

from __future__ import annotations

import asyncio
import email.message
import email.policy
import functools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from cryptography.hazmat.primitives.asymmetric import ec
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError
from supabase_auth.types import AdminUserAttributes, AuthFlowType

from devstack import jwt_keys
from devstack.supabase_api import Settings, accounts
from devstack.supabase_api.auth_settings import AuthSettings
from devstack.supabase_api.server import ServerThread
from supabase import Client, ClientOptions, create_client
from tests.support.ports import free_port

Conn = psycopg.Connection[Any]
CALLBACK = "http://127.0.0.1:3000/auth/callback"
PASSWORD = "correct-horse-battery"
MAIL_TIMEOUT = 5.0


# -- harness --------------------------------------------------------------------------------
class Inbox:
    """A real SMTP server on a free port; every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def last_to(self, address: str) -> email.message.EmailMessage:
        matching = [message for message in self.messages if message["To"] == address]
        if matching:
            return matching[-1]
        raise AssertionError(f"no email to {address}; inbox has {len(self.messages)}")


def body_text(message: email.message.EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def link_and_code(message: email.message.EmailMessage) -> tuple[str, str]:
    text = body_text(message)
    link = re.search(r"(http://\S+/auth/v1/verify\?\S+)", text)
    code = re.search(r"code: (\d{6})\b", text)
    assert link, text
    assert code, text
    return link.group(1), code.group(1)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


StartStandin = Callable[..., ServerThread]


@pytest.fixture
def start_standin(db_url: str, inbox: Inbox) -> Iterator[StartStandin]:
    """Starts a stand-in with AuthSettings overrides; stops them all after the test."""
    servers: list[ServerThread] = []

    def start(**auth: Any) -> ServerThread:
        values: dict[str, Any] = {
            "smtp_url": inbox.url,
            "site_url": "http://127.0.0.1:3000",
            "email_max_frequency_seconds": 0.0,
            **auth,
        }
        server = ServerThread(Settings(database_url=db_url, auth=AuthSettings(**values)))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def standin(start_standin: StartStandin) -> ServerThread:
    return start_standin()


def client(
    server: ServerThread,
    key: str | None = None,
    flow: AuthFlowType = "implicit",
    role: str = "anon",
) -> Client:
    """The official client. Auto-refresh is off so no timer thread outlives a test."""
    api_key = key or jwt_keys.mint_api_key("service_role" if role == "service_role" else "anon")
    options = ClientOptions(auto_refresh_token=False, flow_type=flow)
    return create_client(server.url, api_key, options=options)


def admin(server: ServerThread) -> Client:
    return client(server, role="service_role")


def create_user(server: ServerThread, email: str, **attributes: Any) -> str:
    body = {"email": email, "password": PASSWORD, "email_confirm": True, **attributes}
    response = admin(server).auth.admin.create_user(cast(AdminUserAttributes, body))
    return response.user.id


def sign_in(server: ServerThread, email: str, password: str = PASSWORD) -> Any:
    response = client(server).auth.sign_in_with_password({"email": email, "password": password})
    assert response.session is not None
    return response.session


def genuine_claims(server: ServerThread, token: str) -> dict[str, Any]:
    """Claims of `token` verified against the JWKS the stand-in publishes (and jwt_keys)."""
    keys = httpx.get(f"{server.url}/auth/v1/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [key for key in keys if key["kid"] == kid]
    claims: dict[str, Any] = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="authenticated"
    )
    assert claims == jwt_keys.verify(token)
    return claims


def fragment(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).fragment).items()}


def follow(link: str) -> str:
    response = httpx.get(link, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def api_error(call: Callable[[], object]) -> AuthApiError:
    with pytest.raises(AuthApiError) as caught:
        call()
    return caught.value


def forged(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), "ES256", {"kid": kid})


# -- magic links and email codes -------------------------------------------------------------
def test_magic_link_email_arrives_and_its_link_signs_in_through_the_fragment(
    standin: ServerThread, inbox: Inbox, conn: Conn
) -> None:
    user_id = create_user(standin, "ada@example.com")
    portal = client(standin)
    portal.auth.sign_in_with_otp(
        {"email": "Ada@Example.com", "options": {"email_redirect_to": CALLBACK}}
    )

    message = inbox.last_to("ada@example.com")
    assert message["From"] == "DirectoryBolt <no-reply@directorybolt.example>"
    assert "sign-in link" in message["Subject"]
    link, code = link_and_code(message)
    assert link in body_text(message, "html").replace("&amp;", "&")
    assert code in body_text(message, "html")
    assert parse_qs(urlsplit(link).query)["type"] == ["magiclink"]

    location = follow(link)
    assert location.startswith(CALLBACK + "#")
    params = fragment(location)
    assert params["token_type"] == "bearer"
    assert params["type"] == "magiclink"
    assert int(params["expires_in"]) == 3600
    claims = genuine_claims(standin, params["access_token"])
    assert claims["sub"] == user_id
    assert int(params["expires_at"]) == claims["exp"]
    assert claims["amr"][0]["method"] == "otp"

    # The client takes the session from the callback URL, as a browser app would.
    portal.auth.initialize_from_url(location)
    session = portal.auth.get_session()
    assert session is not None
    assert session.user.email == "ada@example.com"
    assert conn.execute(
        "select count(*) from auth.one_time_tokens where user_id = %s", (user_id,)
    ).fetchone() == (0,)

    # A link works once: the second visit lands on the callback with GoTrue's error fragment.
    error = fragment(follow(link))
    assert error == {
        "error": "access_denied",
        "error_code": "otp_expired",
        "error_description": "Email link is invalid or has expired",
    }


def test_new_address_gets_a_confirmation_that_signs_in_through_pkce(
    standin: ServerThread, inbox: Inbox, conn: Conn
) -> None:
    # supabase-py's default flow is PKCE: the link redirects with ?code= for the exchange.
    portal = client(standin, flow="pkce")
    portal.auth.sign_in_with_otp(
        {
            "email": "newbie@example.com",
            "options": {"email_redirect_to": CALLBACK, "data": {"full_name": "New Bie"}},
        }
    )
    row = conn.execute(
        "select email_confirmed_at, raw_user_meta_data from auth.users where email = %s",
        ("newbie@example.com",),
    ).fetchone()
    assert row == (None, {"full_name": "New Bie"})

    link, _ = link_and_code(inbox.last_to("newbie@example.com"))
    query = parse_qs(urlsplit(link).query)
    assert query["type"] == ["signup"]
    assert query["token"][0].startswith("pkce_")
    location = follow(link)
    assert "#" not in location
    code = parse_qs(urlsplit(location).query)["code"][0]

    response = portal.auth.exchange_code_for_session({"auth_code": code})
    assert response.session is not None
    user = response.session.user
    assert user.email == "newbie@example.com"
    assert user.email_confirmed_at is not None
    assert user.user_metadata == {"full_name": "New Bie", "email_verified": True}
    assert user.app_metadata == {"provider": "email", "providers": ["email"]}
    assert user.identities
    assert user.identities[0].identity_data["email_verified"] is True
    claims = genuine_claims(standin, response.session.access_token)
    assert claims["amr"][0]["method"] == "email/signup"
    assert conn.execute("select count(*) from auth.flow_state").fetchone() == (0,)

    # The code is spent with its flow (the client forgets its verifier after an exchange).
    error = api_error(
        lambda: portal.auth.exchange_code_for_session(
            {"auth_code": code, "code_verifier": "v" * 64, "redirect_to": CALLBACK}
        )
    )
    assert (error.status, error.code) == (404, "flow_state_not_found")


def test_pkce_exchange_refuses_a_wrong_verifier(standin: ServerThread, inbox: Inbox) -> None:
    create_user(standin, "pkce@example.com")
    portal = client(standin, flow="pkce")
    portal.auth.sign_in_with_otp({"email": "pkce@example.com"})
    link, _ = link_and_code(inbox.last_to("pkce@example.com"))
    code = parse_qs(urlsplit(follow(link)).query)["code"][0]
    error = api_error(
        lambda: portal.auth.exchange_code_for_session(
            {"auth_code": code, "code_verifier": "x" * 64, "redirect_to": CALLBACK}
        )
    )
    assert (error.status, error.code) == (400, "bad_code_verifier")


def test_email_code_verifies_once_with_verify_otp(standin: ServerThread, inbox: Inbox) -> None:
    user_id = create_user(standin, "grace@example.com")
    portal = client(standin)
    portal.auth.sign_in_with_otp({"email": "grace@example.com"})
    _, code = link_and_code(inbox.last_to("grace@example.com"))

    wrong = "000000" if code != "000000" else "111111"
    error = api_error(
        lambda: portal.auth.verify_otp(
            {"email": "grace@example.com", "token": wrong, "type": "email"}
        )
    )
    assert (error.status, error.code, error.message) == (
        403,
        "otp_expired",
        "Token has expired or is invalid",
    )

    response = portal.auth.verify_otp(
        {"email": "grace@example.com", "token": code, "type": "email"}
    )
    assert response.session is not None
    assert response.user is not None
    assert response.user.id == user_id
    assert genuine_claims(standin, response.session.access_token)["sub"] == user_id
    assert portal.auth.get_user() is not None

    again = api_error(
        lambda: portal.auth.verify_otp(
            {"email": "grace@example.com", "token": code, "type": "email"}
        )
    )
    assert again.code == "otp_expired"


def test_unknown_address_is_refused_when_sign_up_is_not_allowed(
    standin: ServerThread, inbox: Inbox, conn: Conn
) -> None:
    error = api_error(
        lambda: client(standin).auth.sign_in_with_otp(
            {"email": "stranger@example.com", "options": {"should_create_user": False}}
        )
    )
    assert (error.status, error.code) == (422, "otp_disabled")
    assert inbox.messages == []
    assert conn.execute("select count(*) from auth.users").fetchone() == (0,)


def test_expired_or_unknown_link_redirects_with_an_error(standin: ServerThread, conn: Conn) -> None:
    create_user(standin, "late@example.com")
    link = (
        admin(standin)
        .auth.admin.generate_link(
            {"type": "magiclink", "email": "late@example.com", "options": {"redirect_to": CALLBACK}}
        )
        .properties.action_link
    )
    conn.execute(
        "update auth.users set recovery_sent_at = now() - interval '2 hours' where email = %s",
        ("late@example.com",),
    )
    location = follow(link)
    assert location.startswith(CALLBACK + "#")
    assert fragment(location)["error_code"] == "otp_expired"

    forged_link = link.replace("token=", "token=0")
    assert fragment(follow(forged_link))["error"] == "access_denied"

    # A redirect_to off the site and the allow list falls back to the site URL.
    elsewhere = link.replace("127.0.0.1%3A3000", "evil.example")
    assert follow(elsewhere).startswith("http://127.0.0.1:3000#")


def test_mail_that_cannot_be_sent_leaves_nothing_behind(
    start_standin: StartStandin, conn: Conn
) -> None:
    server = start_standin(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    error = api_error(lambda: client(server).auth.sign_in_with_otp({"email": "lost@example.com"}))
    assert (error.status, error.code) == (500, "unexpected_failure")
    assert "Error sending confirmation email" in error.message
    assert conn.execute("select count(*) from auth.users").fetchone() == (0,)
    assert conn.execute("select count(*) from auth.one_time_tokens").fetchone() == (0,)


# -- passwords, sessions, refresh ------------------------------------------------------------
def test_password_sign_in(standin: ServerThread, conn: Conn) -> None:
    user_id = create_user(standin, "pw@example.com")
    session = sign_in(standin, "PW@example.com")
    assert session.user.id == user_id
    assert session.token_type == "bearer"
    claims = genuine_claims(standin, session.access_token)
    assert claims["amr"][0]["method"] == "password"
    sessions = conn.execute("select id from auth.sessions where user_id = %s", (user_id,))
    assert sessions.fetchall() == [(uuid.UUID(claims["session_id"]),)]
    stored = conn.execute(
        "select encrypted_password from auth.users where id = %s", (user_id,)
    ).fetchone()
    assert stored is not None
    assert stored[0].startswith("$2a$10$")

    wrong = api_error(lambda: sign_in(standin, "pw@example.com", "not-the-password"))
    assert (wrong.status, wrong.code, wrong.message) == (
        400,
        "invalid_credentials",
        "Invalid login credentials",
    )
    nobody = api_error(lambda: sign_in(standin, "nobody@example.com"))
    assert nobody.code == "invalid_credentials"

    admin(standin).auth.admin.create_user(
        {"email": "unconfirmed@example.com", "password": PASSWORD}
    )
    unconfirmed = api_error(lambda: sign_in(standin, "unconfirmed@example.com"))
    assert (unconfirmed.status, unconfirmed.code) == (400, "email_not_confirmed")


def test_refresh_rotates_and_a_reused_token_revokes_the_family(
    start_standin: StartStandin, conn: Conn
) -> None:
    server = start_standin(refresh_token_reuse_interval_seconds=0)
    create_user(server, "rot@example.com")
    first = sign_in(server, "rot@example.com")
    portal = client(server)

    second = portal.auth.refresh_session(first.refresh_token).session
    assert second is not None
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert (
        genuine_claims(server, second.access_token)["session_id"]
        == (genuine_claims(server, first.access_token)["session_id"])
    )
    # The parent of the live token is a lost response, not theft: GoTrue hands it back.
    replay = portal.auth.refresh_session(first.refresh_token).session
    assert replay is not None
    assert replay.refresh_token == second.refresh_token

    third = portal.auth.refresh_session(second.refresh_token).session
    assert third is not None
    error = api_error(lambda: portal.auth.refresh_session(first.refresh_token))
    assert (error.status, error.code, error.message) == (
        400,
        "refresh_token_already_used",
        "Invalid Refresh Token: Already Used",
    )
    raw = httpx.post(
        f"{server.url}/auth/v1/token",
        params={"grant_type": "refresh_token"},
        headers={"apikey": jwt_keys.mint_api_key("anon")},
        json={"refresh_token": third.refresh_token},
    )
    assert raw.status_code == 400
    assert raw.json() == {
        "code": 400,
        "error_code": "refresh_token_already_used",
        "msg": "Invalid Refresh Token: Already Used",
        "error": "invalid_grant",
        "error_description": "Invalid Refresh Token: Already Used",
    }
    assert conn.execute(
        "select count(*) from auth.refresh_tokens where revoked is not true"
    ).fetchone() == (0,)

    unknown = api_error(lambda: portal.auth.refresh_session("nosuchtoken1"))
    assert (unknown.status, str(unknown.code)) == (400, "refresh_token_not_found")


def test_reuse_within_the_interval_is_tolerated(standin: ServerThread) -> None:
    # GoTrue's default 10 s window: concurrent refreshes of one token all succeed.
    create_user(standin, "tabs@example.com")
    first = sign_in(standin, "tabs@example.com")
    portal = client(standin)
    second = portal.auth.refresh_session(first.refresh_token).session
    assert second is not None
    third = portal.auth.refresh_session(second.refresh_token).session
    assert third is not None
    again = portal.auth.refresh_session(first.refresh_token).session
    assert again is not None
    assert again.refresh_token not in {
        first.refresh_token,
        second.refresh_token,
    }


def test_get_user_and_update_user(standin: ServerThread) -> None:
    user_id = create_user(standin, "meta@example.com", user_metadata={"plan": "growth"})
    portal = client(standin)
    portal.auth.sign_in_with_password({"email": "meta@example.com", "password": PASSWORD})

    fetched = portal.auth.get_user()
    assert fetched is not None
    assert fetched.user.id == user_id
    assert fetched.user.user_metadata == {"plan": "growth", "email_verified": True}

    updated = portal.auth.update_user({"data": {"full_name": "Meta User", "plan": None}})
    assert updated.user.user_metadata == {"full_name": "Meta User", "email_verified": True}

    same = api_error(lambda: portal.auth.update_user({"password": PASSWORD}))
    assert (same.status, same.code) == (422, "same_password")
    with pytest.raises(AuthWeakPasswordError) as weak:
        portal.auth.update_user({"password": "short"})
    assert weak.value.reasons == ["length"]

    portal.auth.update_user({"password": "a-brand-new-secret"})
    assert sign_in(standin, "meta@example.com", "a-brand-new-secret").user.id == user_id
    assert api_error(lambda: sign_in(standin, "meta@example.com")).code == "invalid_credentials"


def test_sign_out_revokes_the_sessions_refresh_tokens(standin: ServerThread) -> None:
    create_user(standin, "out@example.com")
    laptop, phone = client(standin), client(standin)
    laptop_session = laptop.auth.sign_in_with_password(
        {"email": "out@example.com", "password": PASSWORD}
    ).session
    phone_session = phone.auth.sign_in_with_password(
        {"email": "out@example.com", "password": PASSWORD}
    ).session
    assert laptop_session is not None
    assert phone_session is not None

    laptop.auth.sign_out({"scope": "local"})
    assert laptop.auth.get_session() is None
    revoked = api_error(lambda: client(standin).auth.refresh_session(laptop_session.refresh_token))
    # supabase-py's ErrorCode Literal lacks the refresh_token_* codes; they still arrive.
    assert str(revoked.code) == "refresh_token_not_found"
    gone = api_error(lambda: client(standin).auth.get_user(laptop_session.access_token))
    assert (gone.status, gone.code) == (403, "session_not_found")
    # The phone's session is untouched by a local sign-out elsewhere.
    assert client(standin).auth.refresh_session(phone_session.refresh_token).session is not None

    phone.auth.sign_out()
    everywhere = api_error(lambda: client(standin).auth.get_user(phone_session.access_token))
    assert everywhere.code == "session_not_found"


# -- the admin API ---------------------------------------------------------------------------
def test_admin_create_list_update_delete(standin: ServerThread, conn: Conn) -> None:
    service = admin(standin).auth.admin
    created = service.create_user(
        {
            "email": "Staffer@Example.com",
            "password": PASSWORD,
            "email_confirm": True,
            "user_metadata": {"full_name": "Sam Staffer"},
            "app_metadata": {"team": "ops"},
        }
    ).user
    assert created.email == "staffer@example.com"
    assert created.app_metadata == {"provider": "email", "providers": ["email"], "team": "ops"}
    assert created.user_metadata == {"full_name": "Sam Staffer", "email_verified": True}
    assert created.email_confirmed_at is not None
    create_user(standin, "other@example.com")

    duplicate = api_error(lambda: service.create_user({"email": "staffer@example.com"}))
    assert (duplicate.status, duplicate.code) == (422, "email_exists")

    assert [user.email for user in service.list_users()] == [
        "other@example.com",
        "staffer@example.com",
    ]
    assert len(service.list_users(page=2, per_page=1)) == 1
    listed = httpx.get(
        f"{standin.url}/auth/v1/admin/users",
        params={"per_page": 1},
        headers={
            "apikey": jwt_keys.mint_api_key("service_role"),
            "Authorization": f"Bearer {jwt_keys.mint_api_key('service_role')}",
        },
    )
    assert listed.headers["x-total-count"] == "2"
    assert 'rel="next"' in listed.headers["link"]
    assert service.get_user_by_id(created.id).user.email == "staffer@example.com"

    before = genuine_claims(standin, sign_in(standin, "staffer@example.com").access_token)
    assert "role" not in before["app_metadata"]
    promoted = service.update_user_by_id(
        created.id,
        {"app_metadata": {"role": "staff", "team": None}, "user_metadata": {"desk": 7}},
    ).user
    assert promoted.app_metadata == {"provider": "email", "providers": ["email"], "role": "staff"}
    assert promoted.user_metadata["desk"] == 7
    after = genuine_claims(standin, sign_in(standin, "staffer@example.com").access_token)
    assert after["app_metadata"]["role"] == "staff"
    assert after["user_metadata"]["full_name"] == "Sam Staffer"

    service.delete_user(created.id)
    missing = api_error(lambda: service.get_user_by_id(created.id))
    assert (missing.status, missing.code) == (404, "user_not_found")
    assert api_error(lambda: sign_in(standin, "staffer@example.com")).code == "invalid_credentials"
    assert conn.execute("select count(*) from auth.identities").fetchone() == (1,)


def test_admin_generate_link(standin: ServerThread, inbox: Inbox) -> None:
    service = admin(standin).auth.admin
    user_id = create_user(standin, "link@example.com")

    magic = service.generate_link(
        {"type": "magiclink", "email": "link@example.com", "options": {"redirect_to": CALLBACK}}
    )
    assert magic.user.id == user_id
    assert magic.properties.verification_type == "magiclink"
    assert magic.properties.redirect_to == CALLBACK
    assert re.fullmatch(r"\d{6}", magic.properties.email_otp)
    assert f"token={magic.properties.hashed_token}" in magic.properties.action_link
    assert inbox.messages == [], "generate_link hands the link over instead of emailing it"
    params = fragment(follow(magic.properties.action_link))
    assert genuine_claims(standin, params["access_token"])["sub"] == user_id

    # The same kind of link verified by its token hash, as a custom email template would.
    hashed = service.generate_link({"type": "recovery", "email": "link@example.com"})
    verified = client(standin).auth.verify_otp(
        {"token_hash": hashed.properties.hashed_token, "type": "recovery"}
    )
    assert verified.user is not None
    assert verified.user.id == user_id

    # An unknown address: a magic link becomes a signup link and creates the user.
    fresh = service.generate_link({"type": "magiclink", "email": "buyer@example.com"})
    assert fresh.properties.verification_type == "signup"
    assert fresh.user.email == "buyer@example.com"
    assert fresh.user.email_confirmed_at is None
    code_session = client(standin).auth.verify_otp(
        {"email": "buyer@example.com", "token": fresh.properties.email_otp, "type": "email"}
    )
    assert code_session.user is not None
    assert code_session.user.email_confirmed_at is not None

    invite = service.generate_link({"type": "invite", "email": "invitee@example.com"})
    assert invite.user.invited_at is not None

    unknown = api_error(
        lambda: service.generate_link({"type": "recovery", "email": "ghost@example.com"})
    )
    assert (unknown.status, unknown.code) == (404, "user_not_found")
    taken = api_error(
        lambda: service.generate_link(
            {"type": "signup", "email": "link@example.com", "password": PASSWORD}
        )
    )
    assert taken.code == "email_exists"


def test_admin_api_refuses_anything_but_the_service_role_key(standin: ServerThread) -> None:
    user_id = create_user(standin, "victim@example.com")
    not_admin = api_error(lambda: client(standin).auth.admin.list_users())
    assert (not_admin.status, not_admin.code, not_admin.message) == (
        403,
        "not_admin",
        "User not allowed",
    )
    stranger_key = forged(jwt_keys.mint_api_key("service_role"))
    wrong_key = api_error(lambda: client(standin, key=stranger_key).auth.admin.list_users())
    assert (wrong_key.status, wrong_key.message) == (401, "Invalid API key")
    user_token = sign_in(standin, "victim@example.com").access_token
    as_user = api_error(lambda: client(standin, key=user_token).auth.admin.delete_user(user_id))
    assert as_user.status == 401, "a user's token is not a project API key"

    no_bearer = httpx.get(
        f"{standin.url}/auth/v1/admin/users", headers={"apikey": jwt_keys.mint_api_key("anon")}
    )
    assert no_bearer.status_code == 401
    assert no_bearer.json() == {
        "code": 401,
        "error_code": "no_authorization",
        "msg": "This endpoint requires a valid Bearer token",
    }
    assert admin(standin).auth.admin.get_user_by_id(user_id).user.id == user_id


def test_expired_and_forged_access_tokens_are_refused(standin: ServerThread) -> None:
    user_id = create_user(standin, "tok@example.com")
    session = sign_in(standin, "tok@example.com")
    claims = genuine_claims(standin, session.access_token)
    portal = client(standin)
    expired = jwt_keys.mint_access_token(
        user_id, session_id=claims["session_id"], expires_in=-60, email="tok@example.com"
    )
    for token, reason in (
        (expired, "token is expired"),
        (forged(session.access_token), "signature is invalid"),
        ("not-a-jwt", "malformed"),
    ):
        error = api_error(functools.partial(portal.auth.get_user, token))
        assert (error.status, error.code) == (403, "bad_jwt")
        assert reason in error.message
    orphan = jwt_keys.mint_access_token(user_id)
    assert api_error(lambda: portal.auth.get_user(orphan)).code == "session_not_found"
    assert portal.auth.get_user(session.access_token) is not None


def test_access_tokens_carry_the_claims_gotrue_issues(standin: ServerThread) -> None:
    user_id = create_user(standin, "claims@example.com", user_metadata={"full_name": "C. Laims"})
    session = sign_in(standin, "claims@example.com")
    claims = genuine_claims(standin, session.access_token)
    assert set(claims) >= {
        "iss",
        "aud",
        "exp",
        "iat",
        "sub",
        "email",
        "phone",
        "app_metadata",
        "user_metadata",
        "role",
        "aal",
        "amr",
        "session_id",
        "is_anonymous",
    }
    assert claims["iss"] == f"{jwt_keys.supabase_url()}/auth/v1"
    assert (claims["sub"], claims["email"], claims["role"]) == (
        user_id,
        "claims@example.com",
        "authenticated",
    )
    assert claims["exp"] - claims["iat"] == 3600 == session.expires_in
    assert claims["aal"] == "aal1"
    assert claims["is_anonymous"] is False
    assert claims["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert claims["user_metadata"]["full_name"] == "C. Laims"
    # supabase-py's own JWKS check agrees.
    checked = client(standin).auth.get_claims(session.access_token)
    assert checked is not None
    assert checked["claims"]["sub"] == user_id


def test_bad_input_gets_gotrue_errors_naming_the_field(standin: ServerThread) -> None:
    anon = jwt_keys.mint_api_key("anon")
    service = jwt_keys.mint_api_key("service_role")

    def post(path: str, body: Any, version: bool = False, key: str = anon) -> httpx.Response:
        headers = {"apikey": key, "Authorization": f"Bearer {key}"}
        if version:
            headers["X-Supabase-Api-Version"] = "2024-01-01"
        content = body if isinstance(body, str) else json.dumps(body)
        return httpx.post(f"{standin.url}/auth/v1{path}", content=content, headers=headers)

    missing = post("/otp", {})
    assert missing.status_code == 400
    assert missing.json() == {
        "code": 400,
        "error_code": "validation_failed",
        "msg": "One of email or phone must be set",
    }
    versioned = post("/otp", {"email": "not-an-email"}, version=True)
    assert versioned.json() == {
        "code": "validation_failed",
        "message": "Unable to validate email address: invalid format",
    }
    assert versioned.headers["x-supabase-api-version"] == "2024-01-01"
    assert post("/otp", "{not json").json()["error_code"] == "bad_json"
    no_password = post("/token?grant_type=password", {"email": "a@example.com"})
    assert "password" in no_password.json()["msg"]
    bad_flag = post(
        "/admin/users", {"email": "x@example.com", "email_confirm": "maybe"}, key=service
    )
    assert bad_flag.status_code == 400
    assert bad_flag.json()["msg"].startswith("email_confirm:")
    no_type = post("/verify", {"email": "a@example.com", "token": "123456"})
    assert no_type.json()["msg"] == "Verify requires a verification type"
    weak = post("/admin/users", {"email": "w@example.com", "password": "123"}, key=service)
    assert weak.status_code == 422
    assert weak.json()["weak_password"] == {"reasons": ["length"]}
    grant = post("/token?grant_type=magic", {})
    assert grant.json()["msg"] == "unsupported_grant_type"
    assert httpx.post(f"{standin.url}/auth/v1/otp", json={"email": "a@b.co"}).status_code == 401


# -- what the tokens are for -----------------------------------------------------------------
def _rows_visible_to(conn: Conn, claims: dict[str, Any], role: str = "authenticated") -> list[str]:
    """`customers` as PostgREST (role authenticated) or the staff dashboard (role dbolt_staff)
    would show it to the holder of these claims."""
    with conn.transaction(force_rollback=True):
        conn.execute(
            "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
            (role, json.dumps(claims)),
        )
        return [row[0] for row in conn.execute("select email from customers order by email")]


def test_a_customer_token_sees_only_their_own_customer_row(
    standin: ServerThread, conn: Conn
) -> None:
    user_id = create_user(standin, "owner@example.com")
    conn.execute("select dev.create_paid_order('owner@example.com', 'starter')")
    conn.execute("select dev.create_paid_order('neighbour@example.com', 'growth')")
    linked = conn.execute(
        "select user_id from customers where email = 'owner@example.com'"
    ).fetchone()
    assert linked == (uuid.UUID(user_id),)

    claims = genuine_claims(standin, sign_in(standin, "owner@example.com").access_token)
    assert _rows_visible_to(conn, claims) == ["owner@example.com"]

    admin(standin).auth.admin.update_user_by_id(user_id, {"app_metadata": {"role": "staff"}})
    staff = genuine_claims(standin, sign_in(standin, "owner@example.com").access_token)
    # Through the Data API a staff token reads what its customer half may; every customer only
    # on the dashboard, as dbolt_staff (20261205000050_staff_read_policies_split.sql).
    assert _rows_visible_to(conn, staff) == ["owner@example.com"]
    assert _rows_visible_to(conn, staff, "dbolt_staff") == [
        "neighbour@example.com",
        "owner@example.com",
    ]
    assert _rows_visible_to(conn, claims, "dbolt_staff") == ["owner@example.com"]


def test_worker_account_signs_in_refreshes_and_joins_the_jobs_channel(
    standin: ServerThread, conn: Conn
) -> None:
    ensured = accounts.ensure_worker_account(conn, password="worker-secret-1")
    assert (ensured.id, ensured.created) == (jwt_keys.WORKER_ACCOUNT_ID, True)
    again = accounts.ensure_worker_account(conn, password="worker-secret-1")
    assert (again.created, again.password_changed) == (False, False)

    worker = client(standin)
    session = worker.auth.sign_in_with_password(
        {"email": jwt_keys.WORKER_ACCOUNT_EMAIL, "password": "worker-secret-1"}
    ).session
    assert session is not None
    claims = genuine_claims(standin, session.access_token)
    assert claims["sub"] == jwt_keys.WORKER_ACCOUNT_ID
    assert claims["app_metadata"]["role"] == "worker"
    refreshed = worker.auth.refresh_session().session
    assert refreshed is not None
    assert genuine_claims(standin, refreshed.access_token)["app_metadata"]["role"] == "worker"

    async def join_jobs(token: str) -> RealtimeSubscribeStates:
        realtime = AsyncRealtimeClient(
            f"{standin.url}/realtime/v1", jwt_keys.mint_api_key("anon"), auto_reconnect=False
        )
        await realtime.connect()
        try:
            await realtime.set_auth(token)
            states: asyncio.Queue[RealtimeSubscribeStates] = asyncio.Queue()
            channel = realtime.channel(
                "jobs",
                {
                    "config": {
                        "private": True,
                        "broadcast": {"self": False},
                        "presence": {"key": "", "enabled": False},
                    }
                },
            )
            await channel.subscribe(lambda state, _error: states.put_nowait(state))
            return await asyncio.wait_for(states.get(), 5)
        finally:
            await realtime.close()

    assert asyncio.run(join_jobs(refreshed.access_token)) == RealtimeSubscribeStates.SUBSCRIBED


def test_staff_command_creates_or_promotes_and_keeps_other_metadata(
    standin: ServerThread, conn: Conn, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    user_id = create_user(standin, "lead@example.com", app_metadata={"team": "support"})
    accounts.main(["--database-url", db_url, "staff", "Lead@Example.com"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "id": user_id,
        "email": "lead@example.com",
        "app_role": "staff",
        "created": False,
        "password_changed": False,
    }
    app_metadata = admin(standin).auth.admin.get_user_by_id(user_id).user.app_metadata
    assert app_metadata == {
        "provider": "email",
        "providers": ["email"],
        "team": "support",
        "role": "staff",
    }
    assert sign_in(standin, "lead@example.com").user.app_metadata["role"] == "staff"

    created = accounts.ensure_user(conn, "fresh-staff@example.com", "staff-secret-1", "staff")
    assert created.created
    staff = genuine_claims(
        standin, sign_in(standin, "fresh-staff@example.com", "staff-secret-1").access_token
    )
    assert staff["app_metadata"]["role"] == "staff"
    assert staff["user_metadata"] == {"email_verified": True}


def test_every_sign_in_records_last_sign_in_at_and_handing_out_links_does_not(
    standin: ServerThread, inbox: Inbox, conn: Conn
) -> None:
    # As GoTrue: last_sign_in_at is written whenever a session is issued (verify by token hash,
    # the magic link's redirect, a typed code, the password grant, the PKCE exchange) or its
    # refresh token swapped, never by creating a user or handing a link out. The onboarding
    # guard relies on both.
    def last_sign_in(user_id: str) -> Any:
        row = conn.execute(
            "select last_sign_in_at from auth.users where id = %s", (user_id,)
        ).fetchone()
        assert row is not None
        return row[0]

    service = admin(standin).auth.admin
    fresh = service.generate_link({"type": "magiclink", "email": "fresh@example.com"})
    assert fresh.properties.verification_type == "signup"
    assert last_sign_in(fresh.user.id) is None, "a link handed out is not a sign-in"
    client(standin).auth.verify_otp({"token_hash": fresh.properties.hashed_token, "type": "signup"})
    seen = [last_sign_in(fresh.user.id)]
    assert seen[0] is not None

    user_id = create_user(standin, "every@example.com")
    assert last_sign_in(user_id) is None
    service.generate_link({"type": "magiclink", "email": "every@example.com"})
    assert last_sign_in(user_id) is None

    def signed_in_again() -> None:
        now = last_sign_in(user_id)
        assert now is not None
        assert not seen or now >= seen[-1]
        seen.append(now)
        conn.execute("update auth.users set last_sign_in_at = null where id = %s", (user_id,))

    link = service.generate_link({"type": "magiclink", "email": "every@example.com"})
    fragment(follow(link.properties.action_link))
    signed_in_again()

    client(standin).auth.sign_in_with_otp({"email": "every@example.com"})
    _, code = link_and_code(inbox.last_to("every@example.com"))
    client(standin).auth.verify_otp({"email": "every@example.com", "token": code, "type": "email"})
    signed_in_again()

    session = sign_in(standin, "every@example.com")
    signed_in_again()
    # A refresh swaps the refresh token, which GoTrue counts as signing in again.
    client(standin).auth.refresh_session(session.refresh_token)
    signed_in_again()

    portal = client(standin, flow="pkce")
    portal.auth.sign_in_with_otp({"email": "every@example.com"})
    pkce_link, _ = link_and_code(inbox.last_to("every@example.com"))
    auth_code = parse_qs(urlsplit(follow(pkce_link)).query)["code"][0]
    assert last_sign_in(user_id) is None, "the link's redirect to the app is not yet a sign-in"
    portal.auth.exchange_code_for_session({"auth_code": auth_code})
    signed_in_again()
