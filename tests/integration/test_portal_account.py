"""GET /account: the signed-in customer's own orders and jobs with links to what comes next."""

from __future__ import annotations

import re
import uuid

import psycopg

from tests.support.portal_harness import PortalStack, sign_in_cookies


def test_signed_out_visitor_is_sent_to_sign_in(portal_stack: PortalStack) -> None:
    response = portal_stack.client.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account"


def test_account_lists_only_my_orders_and_jobs_with_links(portal_stack: PortalStack) -> None:
    started = portal_stack.customer("dana@example.com", "growth")  # complete sample business
    waiting = portal_stack.customer("dana@example.com", "starter")
    other = portal_stack.customer("eve@example.com", "enterprise")
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        (job_id,) = (
            conn.execute("select id from jobs_enqueue(%s)", (started.order_id,)).fetchone() or ()
        )

    page = portal_stack.client.get("/account", cookies=waiting.cookies)
    assert page.status_code == 200
    html = re.sub(r"\s+", " ", page.text)
    assert "Signed in as dana@example.com" in html
    assert "Bluebird Bakery" in html
    assert f'href="/jobs/{job_id}"' in html
    assert f'href="/orders/{started.order_id}/business"' in html
    assert f'href="/orders/{waiting.order_id}/business"' in html
    assert "Fill in your business details" in html
    assert "0 of " in html
    assert str(other.order_id) not in html
    assert "Enterprise" not in html


def test_a_user_without_orders_is_pointed_to_pricing(portal_stack: PortalStack) -> None:
    user_id = uuid.uuid4()
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,"
            " raw_app_meta_data, raw_user_meta_data, created_at, updated_at)"
            " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
            " 'authenticated', 'frank@example.com', now(), '{}', '{}', now(), now())",
            (user_id,),
        )
    page = portal_stack.client.get(
        "/account", cookies=sign_in_cookies(user_id, "frank@example.com")
    )
    assert page.status_code == 200
    assert "No orders yet" in page.text
