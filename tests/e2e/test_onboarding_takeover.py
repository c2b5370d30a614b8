"""Attack tests for issue 10, critical 1: paying with somebody else's email address must not
sign the buyer in as that person.

Stripe never verifies the address typed on its page, and the webhook files the order under
that address's existing Auth user. These tests buy through the real pieces as real
processes (the checkout Edge Function under Deno, the Stripe stand-in and its signed
webhooks, the webhook receiver and its notifier, the Auth stand-in, the mail catcher and the
portal — tests/support/e2e_stack.py), then come back from checkout the way a browser does.
"""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import psycopg
import pytest

from portal.auth.cookies import ACCESS_COOKIE, REFRESH_COOKIE
from tests.support.e2e_stack import Stack, running_stack

pytestmark = pytest.mark.slow

STAFF_EMAIL = "staff@directorybolt.example"
CUSTOMER_EMAIL = "alice@bluebird-bakery.example"
WAIT_SECONDS = 30.0
_IDS = re.compile(r"cs_[A-Za-z0-9_]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from devstack import localdb

    localdb.start()
    db_url = localdb.fresh(f"pytest_takeover_{uuid.uuid4().hex[:8]}")
    with running_stack(
        db_url, tmp_path_factory.mktemp("takeover"), functions=True, webhook=True, portal=True
    ) as running:
        yield running


def _browser(stack: Stack) -> httpx.Client:
    """A fresh browser: its own cookie jar, no redirects followed by itself."""
    return httpx.Client(base_url=stack.portal_url, timeout=15, follow_redirects=False)


def _existing_user(stack: Stack, email: str, app_metadata: dict[str, Any]) -> uuid.UUID:
    """A user who has had an account for a day (and signed in then), as staff and earlier
    customers do."""
    user_id = uuid.uuid4()
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,"
            " raw_app_meta_data, raw_user_meta_data, created_at, updated_at, last_sign_in_at)"
            " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
            " 'authenticated', %s, now() - interval '1 day', %s, '{}',"
            " now() - interval '1 day', now() - interval '1 day', now() - interval '1 day')",
            (user_id, email, psycopg.types.json.Jsonb(app_metadata)),
        )
        conn.execute(
            "insert into auth.identities (provider_id, user_id, identity_data, provider,"
            " created_at, updated_at) values (%s, %s, %s, 'email', now(), now())",
            (
                str(user_id),
                user_id,
                psycopg.types.json.Jsonb({"sub": str(user_id), "email": email}),
            ),
        )
    return user_id


def _earlier_customer(stack: Stack, email: str) -> uuid.UUID:
    """A customer who bought a day ago (their own user, customer row and paid order)."""
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        order = conn.execute(
            "select dev.create_paid_order(%s, 'starter', '{}')", (email,)
        ).fetchone()
        assert order is not None
        conn.execute(
            "update orders set created_at = now() - interval '1 day' where id = %s", (order[0],)
        )
        user = conn.execute(
            "update auth.users set created_at = now() - interval '1 day' where email = %s"
            " returning id",
            (email,),
        ).fetchone()
    assert user is not None
    return uuid.UUID(str(user[0]))


def _buy(stack: Stack, email: str) -> str:
    """Checkout through the Edge Function, paid on Stripe's page with `email` typed in;
    returns the Checkout Session id once the webhook has recorded and linked the order."""
    created = httpx.post(
        f"{stack.url('supabase')}/functions/v1/checkout",
        json={"tier": "starter"},
        headers={"apikey": stack.anon_key, "Authorization": f"Bearer {stack.anon_key}"},
        timeout=15,
    )
    assert created.status_code == 200, created.text
    session_id = str(created.json()["id"])
    paid = httpx.post(
        f"{stack.url('stripe')}/_admin/sessions/{session_id}/pay", json={"email": email}
    )
    assert paid.status_code == 200, paid.text
    deadline = time.monotonic() + WAIT_SECONDS
    with _browser(stack) as poller:
        while time.monotonic() < deadline:
            status = poller.get("/onboarding/status", params={"session_id": session_id})
            if status.status_code == 200 and status.json()["state"] == "recorded":
                return session_id
            time.sleep(0.3)
    raise AssertionError(f"order for {session_id} not recorded: {stack.log('webhook')[-3000:]}")


def _return_from_checkout(stack: Stack, browser: httpx.Client, session_id: str) -> httpx.Response:
    """What the buyer's browser does on Stripe's success URL: open it and, if the page asks
    to confirm with its button, press it (a same-site form POST)."""
    page = browser.get("/onboarding", params={"session_id": session_id})
    if page.status_code == 200 and re.search(
        r'<form[^>]*method="post"[^>]*action="/onboarding"', page.text
    ):
        page = browser.post(
            "/onboarding",
            data={"session_id": session_id},
            headers={"Origin": stack.portal_url},
        )
    return page


def _order_of(stack: Stack, session_id: str) -> str:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select id from orders where stripe_checkout_session_id = %s", (session_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def _visible_text(html: str) -> str:
    """The page's words with every order and session id blanked out."""
    text = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", _IDS.sub("<id>", text)).strip()


def _needs_emailed_sign_in_page(stack: Stack) -> str:
    """What a brand-new address sees once its one automatic sign-in is gone: the page an
    attacker's page must not be told apart from."""
    session_id = _buy(stack, f"newbie-{uuid.uuid4().hex[:8]}@example.com")
    with _browser(stack) as buyer:
        first = _return_from_checkout(stack, buyer, session_id)
        assert first.status_code == 303, first.text
        assert ACCESS_COOKIE in buyer.cookies
    with _browser(stack) as second:
        page = _return_from_checkout(stack, second, session_id)
        assert page.status_code == 200
        assert ACCESS_COOKIE not in second.cookies
        return _visible_text(page.text)


def _assert_no_session(stack: Stack, attacker: httpx.Client, order_id: str) -> None:
    assert ACCESS_COOKIE not in attacker.cookies
    assert REFRESH_COOKIE not in attacker.cookies
    staff = attacker.get("/staff")
    assert staff.status_code in (303, 401, 403), staff.status_code
    assert "Queue" not in staff.text
    form = attacker.get(f"/orders/{order_id}/business")
    assert form.status_code != 200
    account = attacker.get("/account")
    assert account.status_code != 200


def _sign_in_with_payment_email(stack: Stack, email: str, order_id: str) -> httpx.Client:
    """The address's real owner signs in the normal way: the link in the payment email
    (opened, then confirmed with the page's button, as a browser does)."""
    owner = _browser(stack)
    deadline = time.monotonic() + WAIT_SECONDS
    link = None
    while link is None and time.monotonic() < deadline:
        for summary in stack.mail(email):
            message = stack.mail_message(summary["id"])
            link = next(
                (
                    found
                    for found in message["links"]
                    if "/auth/confirm?" in found and order_id in unquote(found)
                ),
                None,
            )
            if link is not None:
                break
        else:
            time.sleep(0.2)
    assert link is not None, "no payment email with a sign-in link"
    page = owner.get(link.removeprefix(stack.portal_url))
    form = re.search(r'<form[^>]*method="post"[^>]*action="(/auth/confirm)"', page.text)
    if page.status_code == 200 and form:
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        page = owner.post(
            "/auth/confirm", data=_unescape(fields), headers={"Origin": stack.portal_url}
        )
    assert page.status_code == 303, page.text
    assert ACCESS_COOKIE in owner.cookies
    return owner


def _unescape(fields: dict[str, str]) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in fields.items()}


def test_paying_with_the_staff_email_gives_no_session_and_no_staff_dashboard(
    stack: Stack,
) -> None:
    _existing_user(
        stack, STAFF_EMAIL, {"provider": "email", "providers": ["email"], "role": "staff"}
    )
    expected_page = _needs_emailed_sign_in_page(stack)
    session_id = _buy(stack, STAFF_EMAIL)
    order_id = _order_of(stack, session_id)
    with _browser(stack) as attacker:
        page = _return_from_checkout(stack, attacker, session_id)
        assert page.status_code == 200, page.headers.get("location")
        _assert_no_session(stack, attacker, order_id)
        # The same words a brand-new address gets: nothing says the address had an account.
        assert _visible_text(page.text) == expected_page
        # Coming back again changes nothing.
        again = _return_from_checkout(stack, attacker, session_id)
        assert again.status_code == 200
        assert ACCESS_COOKIE not in attacker.cookies


def test_paying_with_another_customers_email_gives_no_session_and_the_owner_sees_the_order(
    stack: Stack,
) -> None:
    _earlier_customer(stack, CUSTOMER_EMAIL)
    expected_page = _needs_emailed_sign_in_page(stack)
    session_id = _buy(stack, CUSTOMER_EMAIL)
    order_id = _order_of(stack, session_id)
    with _browser(stack) as attacker:
        page = _return_from_checkout(stack, attacker, session_id)
        assert page.status_code == 200, page.headers.get("location")
        _assert_no_session(stack, attacker, order_id)
        assert _visible_text(page.text) == expected_page

    # The real owner signs in on their own and finds the new order attached to them.
    owner = _sign_in_with_payment_email(stack, CUSTOMER_EMAIL, order_id)
    try:
        account = owner.get("/account")
        assert account.status_code == 200
        assert f"/orders/{order_id}/business" in account.text
        assert owner.get(f"/orders/{order_id}/business").status_code == 200
    finally:
        owner.close()


def test_a_brand_new_address_is_still_signed_in_once_from_checkout(stack: Stack) -> None:
    email = f"first-time-{uuid.uuid4().hex[:8]}@example.com"
    session_id = _buy(stack, email)
    order_id = _order_of(stack, session_id)
    with _browser(stack) as buyer:
        done = _return_from_checkout(stack, buyer, session_id)
        assert done.status_code == 303
        assert done.headers["location"] == f"/orders/{order_id}/business"
        assert buyer.get(done.headers["location"]).status_code == 200
