"""Attack tests for issue 10 item 2 (sign-in part): hammering the sign-in email, guessing
6-digit codes, and hammering the onboarding's Stripe look-ups get 429 with Retry-After, while
other addresses and other client IPs carry on.

The portal is served by uvicorn on a real loopback socket, in a thread, against the real Auth
stand-in, mail catcher and Stripe stand-in; each "client IP" is a different 127.0.0.x source
address (Linux routes all of 127/8 to loopback), so the portal sees them as uvicorn reports
them — no header tricks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from devstack.mailcatcher.runner import MailCatcher
from devstack.serving import AppServer
from devstack.stripe import Settings as StripeSettings
from devstack.stripe import create_app as create_stripe_app
from devstack.supabase_api.auth_settings import AuthSettings
from devstack.supabase_api.runtime import Settings as SupabaseSettings
from devstack.supabase_api.server import ServerThread
from portal import rate_limit
from portal.auth.cookies import ACCESS_COOKIE
from portal.rate_limit import Limit, RateLimiter
from tests.support.portal_harness import portal_app
from tests.support.ports import free_port

STRIPE_KEY = "sk_test_portal_rate_limits"


@dataclass
class Served:
    url: str
    db_url: str

    def client(self, ip: str = "127.0.0.2") -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            transport=httpx.HTTPTransport(local_address=ip),
            follow_redirects=False,
            timeout=15,
        )

    def customer(self, email: str) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            conn.execute("select dev.create_paid_order(%s, 'starter', '{}')", (email,))


@pytest.fixture
def served(db_url: str) -> Iterator[Served]:
    stripe_app = create_stripe_app(StripeSettings(secret_key=STRIPE_KEY, pay_wait_seconds=0.0))
    with MailCatcher(smtp_port=free_port()) as mail:
        auth = AuthSettings(
            smtp_url=mail.smtp_url, site_url="http://testserver", email_max_frequency_seconds=0.0
        )
        with (
            AppServer(stripe_app, "stripe") as stripe_server,
            ServerThread(SupabaseSettings(database_url=db_url, auth=auth)) as supabase,
        ):
            app = portal_app(
                db_url,
                supabase.url,
                stripe_api_base=stripe_server.url,
                stripe_secret_key=STRIPE_KEY,
            )
            with AppServer(app, "portal") as portal:
                yield Served(portal.url, db_url)


def _retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["Retry-After"])
    assert seconds > 0
    return seconds


def test_guessing_codes_for_one_address_is_stopped_with_429_and_retry_after(
    served: Served,
) -> None:
    served.customer("alice@example.com")
    served.customer("bob@example.com")
    wrong = {"email": "alice@example.com", "code": "000000", "next": "/account"}
    with served.client("127.0.0.2") as first, served.client("127.0.0.3") as second:
        for _ in range(rate_limit.WRONG_CODE_PER_EMAIL.count):
            assert first.post("/sign-in/code", data=wrong).status_code == 400
        limited = first.post("/sign-in/code", data=wrong)
        assert _retry_after(limited) <= rate_limit.WRONG_CODE_PER_EMAIL.window_seconds
        assert "Too many wrong codes" in limited.text
        # The address is what is guessed at: another IP gets no fresh tries on it …
        assert second.post("/sign-in/code", data=wrong).status_code == 429
        assert ACCESS_COOKIE not in first.cookies
        # … while other addresses, from the same IP, are checked as usual.
        other = {"email": "bob@example.com", "code": "000000", "next": "/account"}
        assert first.post("/sign-in/code", data=other).status_code == 400


def test_guessing_codes_across_many_addresses_from_one_ip_is_stopped(served: Served) -> None:
    with served.client("127.0.0.4") as guesser, served.client("127.0.0.5") as neighbour:
        for n in range(rate_limit.WRONG_CODE_PER_IP.count):
            answer = guesser.post(
                "/sign-in/code",
                data={"email": f"guess{n}@example.com", "code": "123456"},
                # Not trusted: the client cannot pick the address it is counted under.
                headers={"X-Forwarded-For": f"10.0.0.{n}"},
            )
            assert answer.status_code == 400
        limited = guesser.post(
            "/sign-in/code",
            data={"email": "fresh@example.com", "code": "123456"},
            headers={"X-Forwarded-For": "10.9.9.9"},
        )
        _retry_after(limited)
        assert (
            neighbour.post(
                "/sign-in/code", data={"email": "fresh@example.com", "code": "123456"}
            ).status_code
            == 400
        )


def test_asking_for_sign_in_emails_over_and_over_is_stopped_with_429(served: Served) -> None:
    served.customer("carol@example.com")
    with served.client("127.0.0.6") as asker, served.client("127.0.0.7") as other_ip:
        ask = {"email": "carol@example.com", "next": "/account"}
        for _ in range(rate_limit.SIGN_IN_PER_EMAIL.count):
            assert asker.post("/sign-in", data=ask).status_code == 303
        limited = asker.post("/sign-in", data=ask)
        _retry_after(limited)
        assert "Too many sign-in emails" in limited.text
        assert other_ip.post("/sign-in", data=ask).status_code == 429
        # Another address is not affected.
        assert asker.post("/sign-in", data={"email": "dave@example.com"}).status_code == 303

        # Per IP: many addresses from one IP run out, another IP does not.
        used = rate_limit.SIGN_IN_PER_EMAIL.count + 1
        for n in range(rate_limit.SIGN_IN_PER_IP.count - used):
            assert asker.post("/sign-in", data={"email": f"n{n}@example.com"}).status_code == 303
        _retry_after(asker.post("/sign-in", data={"email": "last@example.com"}))
        assert other_ip.post("/sign-in", data={"email": "last@example.com"}).status_code == 303


def test_hammering_onboarding_stripe_look_ups_is_stopped_with_429(served: Served) -> None:
    with served.client("127.0.0.8") as hammer, served.client("127.0.0.9") as buyer:
        for n in range(rate_limit.STRIPE_LOOKUP_PER_IP.count):
            status = hammer.get("/onboarding/status", params={"session_id": f"cs_test_guess{n}"})
            assert status.status_code == 404
        limited = hammer.get("/onboarding/status", params={"session_id": "cs_test_more"})
        _retry_after(limited)
        assert limited.json()["state"] == "rate_limited"
        page = hammer.get("/onboarding", params={"session_id": "cs_test_more"})
        _retry_after(page)
        # Another IP still gets Stripe's answer.
        assert (
            buyer.get("/onboarding/status", params={"session_id": "cs_test_x"}).status_code == 404
        )


def test_the_limiter_slides_its_window_and_keeps_memory_bounded() -> None:
    now = [1000.0]
    limiter = RateLimiter(max_keys=3, clock=lambda: now[0])
    limit = Limit("t", 2, 60)
    assert limiter.take(limit, "a") is None
    now[0] += 30
    assert limiter.take(limit, "a") is None
    assert limiter.take(limit, "a") == pytest.approx(30)
    now[0] += 31  # the first event has left the window
    assert limiter.take(limit, "a") is None
    for key in ("b", "c", "d"):
        limiter.take(limit, key)
    assert len(limiter._events) == 3  # "a", the least recently used, was forgotten
    limiter.take(limit, "e")
    assert len(limiter._events) == 3
    assert max(len(events) for events in limiter._events.values()) <= limit.count
