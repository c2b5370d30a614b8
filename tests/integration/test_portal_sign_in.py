"""Passwordless sign-in through the portal against the real Auth stand-in (the official
supabase_auth client inside the portal), with the emails caught by the real mail catcher:
the PKCE link, the typed code, our own token_hash links, open-redirect refusal, sign-out."""

from __future__ import annotations

import html
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from supabase_auth import SyncGoTrueAdminAPI

from devstack import jwt_keys
from portal.auth.cookies import ACCESS_COOKIE, REFRESH_COOKIE, VERIFIER_COOKIE
from portal.auth.sign_in_form import safe_next
from tests.support.portal_harness import Customer, PortalStack

MAIL_DEADLINE = 10.0


def latest_mail(stack: PortalStack, to: str, count: int = 1) -> dict[str, Any]:
    """The newest message to `to`, waiting until `count` have arrived."""
    deadline = time.monotonic() + MAIL_DEADLINE
    with httpx.Client(base_url=stack.mail.http_url, timeout=5) as mail:
        while True:
            listing = mail.get("/api/messages", params={"to": to}).json()
            if listing["total"] >= count:
                message: dict[str, Any] = mail.get(
                    f"/api/messages/{listing['messages'][0]['id']}"
                ).json()
                return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no email to {to}")
            time.sleep(0.05)


def mail_count(stack: PortalStack, to: str) -> int:
    with httpx.Client(base_url=stack.mail.http_url, timeout=5) as mail:
        total: int = mail.get("/api/messages", params={"to": to}).json()["total"]
        return total


def link_and_code(message: dict[str, Any]) -> tuple[str, str]:
    links = [link for link in message["links"] if "/auth/v1/verify" in link]
    code = re.search(r"code: (\d{6})\b", message["text"])
    assert links, message["text"]
    assert code, message["text"]
    return links[0], code.group(1)


@pytest.fixture
def alice(portal_stack: PortalStack) -> Customer:
    return portal_stack.customer("alice@example.com", "starter", business={})


def ask_for_email(stack: PortalStack, email: str, next_path: str = "/account") -> httpx.Response:
    response: httpx.Response = stack.client.post(
        "/sign-in", data={"email": email, "next": next_path}
    )
    return response


def signed_in_as(stack: PortalStack) -> str | None:
    page = stack.client.get("/account")
    if page.status_code != 200:
        return None
    match = re.search(r"Signed in as ([^<\s]+?)\.?[<\s]", page.text)
    return match.group(1) if match else None


def test_sign_in_page_is_a_labelled_email_form(portal_stack: PortalStack) -> None:
    page = portal_stack.client.get("/sign-in?next=/account")
    assert page.status_code == 200
    assert '<label for="email">' in page.text
    assert 'name="next" value="/account"' in page.text


def test_the_emailed_link_signs_in_through_pkce_in_the_same_browser(
    portal_stack: PortalStack, alice: Customer
) -> None:
    target = f"/orders/{alice.order_id}/business"
    asked = ask_for_email(portal_stack, "Alice@Example.com", target)
    assert asked.status_code == 303
    assert asked.headers["location"].startswith("/sign-in/code?")
    assert VERIFIER_COOKIE in portal_stack.client.cookies

    link, _ = link_and_code(latest_mail(portal_stack, "alice@example.com"))
    assert "token=pkce_" in link
    # The browser follows the link to Auth, which sends it back to our callback with a code.
    location = httpx.get(link, follow_redirects=False).headers["location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://testserver/auth/callback"
    assert parse_qs(parts.query)["next"] == [target]

    done = portal_stack.client.get(f"{parts.path}?{parts.query}")
    assert done.status_code == 303
    assert done.headers["location"] == target
    assert ACCESS_COOKIE in portal_stack.client.cookies
    assert REFRESH_COOKIE in portal_stack.client.cookies
    assert VERIFIER_COOKIE not in portal_stack.client.cookies
    claims = jwt_keys.verify(portal_stack.client.cookies[ACCESS_COOKIE])
    assert claims["sub"] == str(alice.user_id)
    assert portal_stack.client.get(target).status_code == 200

    # The code inside the link is spent: even with a verifier it is refused.
    portal_stack.client.cookies.clear()
    portal_stack.client.cookies.set(VERIFIER_COOKIE, "v" * 64, domain="testserver.local")
    again = portal_stack.client.get(f"{parts.path}?{parts.query}")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/sign-in?")
    assert ACCESS_COOKIE not in portal_stack.client.cookies


def test_the_link_opened_in_another_browser_asks_for_the_code_instead(
    portal_stack: PortalStack, alice: Customer
) -> None:
    ask_for_email(portal_stack, alice.email)
    link, _ = link_and_code(latest_mail(portal_stack, alice.email))
    location = urlsplit(httpx.get(link, follow_redirects=False).headers["location"])
    portal_stack.client.cookies.clear()
    page = portal_stack.client.get(f"{location.path}?{location.query}")
    assert page.status_code == 400
    assert "same browser" in page.text
    assert ACCESS_COOKIE not in portal_stack.client.cookies


def test_the_typed_code_signs_in_once(portal_stack: PortalStack, alice: Customer) -> None:
    ask_for_email(portal_stack, alice.email)
    _, code = link_and_code(latest_mail(portal_stack, alice.email))
    code_page = portal_stack.client.get(f"/sign-in/code?email={alice.email}&next=/account")
    assert 'autocomplete="one-time-code"' in code_page.text

    wrong = "000000" if code != "000000" else "111111"
    refused = portal_stack.client.post(
        "/sign-in/code", data={"email": alice.email, "code": wrong, "next": "/account"}
    )
    assert refused.status_code == 400
    assert 'id="code-error">That code is wrong or has expired' in refused.text
    assert 'aria-invalid="true"' in refused.text

    malformed = portal_stack.client.post(
        "/sign-in/code", data={"email": alice.email, "code": "12ab", "next": "/account"}
    )
    assert malformed.status_code == 400
    assert "Enter the 6-digit code" in malformed.text

    accepted = portal_stack.client.post(
        "/sign-in/code",
        data={"email": alice.email, "code": f" {code[:3]} {code[3:]} ", "next": "/account"},
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/account"
    assert signed_in_as(portal_stack) == alice.email

    portal_stack.client.cookies.clear()
    reused = portal_stack.client.post(
        "/sign-in/code", data={"email": alice.email, "code": code, "next": "/account"}
    )
    assert reused.status_code == 400


def test_staff_land_on_the_dashboard_and_customers_on_their_account(
    portal_stack: PortalStack, alice: Customer
) -> None:
    staff_email = "shift-lead@directorybolt.test"
    portal_stack.staff(staff_email)
    for email, landing in ((staff_email, "/staff"), (alice.email, "/account")):
        portal_stack.client.cookies.clear()
        ask_for_email(portal_stack, email)
        _, code = link_and_code(latest_mail(portal_stack, email))
        done = portal_stack.client.post(
            "/sign-in/code", data={"email": email, "code": code, "next": "/account"}
        )
        assert done.headers["location"] == landing, email
        # Signed in already, the sign-in page sends each to the same place.
        assert portal_stack.client.get("/sign-in").headers["location"] == landing
    # A page asked for is still where anyone goes.
    assert portal_stack.client.get("/sign-in?next=/mailbox").headers["location"] == "/mailbox"


def test_an_unknown_address_gets_the_same_answer_and_no_email(portal_stack: PortalStack) -> None:
    asked = ask_for_email(portal_stack, "stranger@example.com")
    assert asked.status_code == 303
    assert asked.headers["location"].startswith("/sign-in/code?")
    time.sleep(0.2)
    assert mail_count(portal_stack, "stranger@example.com") == 0
    with psycopg.connect(portal_stack.db_url) as conn:
        assert conn.execute(
            "select count(*) from auth.users where email = 'stranger@example.com'"
        ).fetchone() == (0,)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your email address"),
        ("not-an-address", "like name@example.com"),
        ("a@b", "like name@example.com"),
    ],
)
def test_a_bad_address_is_refused_next_to_the_field(
    portal_stack: PortalStack, email: str, message: str
) -> None:
    page = ask_for_email(portal_stack, email)
    assert page.status_code == 400
    assert re.search(rf'id="email-error">[^<]*{re.escape(message)}', page.text)
    assert 'aria-describedby="email-error"' in page.text


def admin(stack: PortalStack) -> SyncGoTrueAdminAPI:
    key = jwt_keys.mint_api_key("service_role")
    return SyncGoTrueAdminAPI(
        url=f"{stack.supabase.url}/auth/v1",
        headers={"apikey": key, "Authorization": f"Bearer {key}"},
    )


def open_our_link(stack: PortalStack, token_hash: str, kind: str, next_path: str) -> httpx.Response:
    """What a browser does with our emails' /auth/confirm link: opens it, presses the page's
    button (a same-site POST of the page's hidden fields)."""
    page: httpx.Response = stack.client.get(
        "/auth/confirm", params={"token_hash": token_hash, "type": kind, "next": next_path}
    )
    if page.status_code != 200:
        return page
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    fields = {name: html.unescape(value) for name, value in fields.items()}
    response: httpx.Response = stack.client.post(
        "/auth/confirm", data=fields, headers={"Origin": "http://testserver"}
    )
    return response


def test_our_emails_token_hash_link_signs_in_and_goes_to_next(
    portal_stack: PortalStack, alice: Customer
) -> None:
    hashed = (
        admin(portal_stack)
        .generate_link({"type": "magiclink", "email": alice.email})
        .properties.hashed_token
    )
    target = f"/orders/{alice.order_id}/business"
    done = open_our_link(portal_stack, hashed, "magiclink", target)
    assert done.status_code == 303
    assert done.headers["location"] == target
    assert signed_in_as(portal_stack) == alice.email

    portal_stack.client.cookies.clear()
    spent = open_our_link(portal_stack, hashed, "magiclink", target)
    assert spent.status_code == 303
    assert spent.headers["location"].startswith("/sign-in?")
    assert ACCESS_COOKIE not in portal_stack.client.cookies
    assert "did not work" in portal_stack.client.get(spent.headers["location"]).text

    bad_type = portal_stack.client.get("/auth/confirm?token_hash=abc&type=recovery&next=/account")
    assert bad_type.headers["location"].startswith("/sign-in?")


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "evil",
    ],
)
def test_next_never_leaves_the_portal(
    portal_stack: PortalStack, alice: Customer, next_path: str
) -> None:
    assert safe_next(next_path) == "/account"
    hashed = (
        admin(portal_stack)
        .generate_link({"type": "magiclink", "email": alice.email})
        .properties.hashed_token
    )
    done = open_our_link(portal_stack, hashed, "magiclink", next_path)
    assert done.status_code == 303
    assert done.headers["location"] == "/account"


def test_sign_out_ends_the_session_at_auth_and_clears_the_cookies(
    portal_stack: PortalStack, alice: Customer
) -> None:
    hashed = (
        admin(portal_stack)
        .generate_link({"type": "magiclink", "email": alice.email})
        .properties.hashed_token
    )
    assert open_our_link(portal_stack, hashed, "magiclink", "/account").status_code == 303
    refresh = portal_stack.client.cookies[REFRESH_COOKIE]
    assert portal_stack.client.get("/sign-in?next=/account").headers["location"] == "/account"

    out = portal_stack.client.post("/sign-out")
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in?signed_out=1"
    assert ACCESS_COOKIE not in portal_stack.client.cookies
    assert REFRESH_COOKIE not in portal_stack.client.cookies
    assert portal_stack.client.get("/account").status_code == 303
    # The refresh token died with the session at Auth.
    anon = jwt_keys.mint_api_key("anon")
    refreshed = httpx.post(
        f"{portal_stack.supabase.url}/auth/v1/token?grant_type=refresh_token",
        json={"refresh_token": refresh},
        headers={"apikey": anon},
    )
    assert refreshed.status_code == 400


def test_sign_out_from_another_site_is_refused(portal_stack: PortalStack, alice: Customer) -> None:
    response = portal_stack.client.post(
        "/sign-out", cookies=alice.cookies, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403


# -- login CSRF: a link carrying token_hash confirms with a POST ---------------------------------
def _fresh_token_hash(stack: PortalStack, email: str) -> str:
    hashed: str = (
        admin(stack).generate_link({"type": "magiclink", "email": email}).properties.hashed_token
    )
    return hashed


def test_opening_a_token_hash_link_as_a_cross_site_navigation_signs_nobody_in(
    portal_stack: PortalStack, alice: Customer
) -> None:
    # What another site's link, an <img>, or a mail scanner fetching every link does: a GET.
    hashed = _fresh_token_hash(portal_stack, alice.email)
    query = f"token_hash={hashed}&type=magiclink&next=/account"
    for _ in range(2):
        page = portal_stack.client.get(
            f"/auth/confirm?{query}", headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert page.status_code == 200
        assert ACCESS_COOKIE not in portal_stack.client.cookies
        assert REFRESH_COOKIE not in portal_stack.client.cookies
        assert 'method="post" action="/auth/confirm"' in page.text
    # The token was not used up: the page's button (a same-site POST) still signs in.
    done = portal_stack.client.post(
        "/auth/confirm",
        data={"token_hash": hashed, "type": "magiclink", "next": "/account"},
        headers={"Origin": "http://testserver"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/account"
    assert signed_in_as(portal_stack) == alice.email


def test_a_cross_site_post_of_a_token_hash_is_refused(
    portal_stack: PortalStack, alice: Customer
) -> None:
    hashed = _fresh_token_hash(portal_stack, alice.email)
    form = {"token_hash": hashed, "type": "magiclink", "next": "/account"}
    for origin in ("https://evil.example", "null"):
        refused = portal_stack.client.post("/auth/confirm", data=form, headers={"Origin": origin})
        assert refused.status_code == 403
        assert ACCESS_COOKIE not in portal_stack.client.cookies
    # Still unused: the portal's own page can redeem it.
    done = portal_stack.client.post(
        "/auth/confirm", data=form, headers={"Origin": "http://testserver"}
    )
    assert done.status_code == 303
    assert ACCESS_COOKIE in portal_stack.client.cookies
