"""GET /mailbox: the signed-in customer reads their campaign mailbox — its address and the
mail stored for it (inbound_emails_receive, as the webhook stores it), newest first, text
only; never another customer's mail."""

from __future__ import annotations

import re

import psycopg

from portal.settings import PortalSettings
from tests.support.portal_harness import PortalStack


def _receive(conn: psycopg.Connection[object], local: str, message_id: str, **mail: str) -> None:
    conn.execute(
        "select inbound_emails_receive('mailgun', %s, %s, %s, %s, %s, %s)",
        (message_id, local, mail["sender"], mail["subject"], mail["text"], mail.get("html", "")),
    )


def test_signed_out_visitor_is_sent_to_sign_in(portal_stack: PortalStack) -> None:
    response = portal_stack.client.get("/mailbox")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/mailbox"


def test_a_customer_reads_only_their_own_mailbox(portal_stack: PortalStack) -> None:
    dana = portal_stack.customer("dana@example.com")
    eve = portal_stack.customer("eve@example.com")
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        conn.execute("select jobs_enqueue(%s)", (dana.order_id,))
        conn.execute("select jobs_enqueue(%s)", (eve.order_id,))
        boxes: dict[str, str] = dict(
            conn.execute(
                "select c.email, m.local_part from customer_mailboxes m"
                " join customers c on c.id = m.customer_id"
            ).fetchall()
        )
        _receive(
            conn,
            boxes["dana@example.com"],
            "<1@listings.example>",
            sender="noreply@listings.example",
            subject="Confirm your Listings account",
            text="Your code is 424242",
            html="<script>alert('mail')</script><p>Your code</p>",
        )
        _receive(
            conn,
            boxes["eve@example.com"],
            "<2@listings.example>",
            sender="noreply@listings.example",
            subject="Eve's secret code",
            text="Your code is 999999",
        )

    page = portal_stack.client.get("/mailbox", cookies=dana.cookies)
    assert page.status_code == 200
    html = re.sub(r"\s+", " ", page.text)
    domain = PortalSettings().mailbox_domain
    assert f"{boxes['dana@example.com']}@{domain}" in html
    assert "Confirm your Listings account" in html
    assert "Your code is 424242" in html
    assert "noreply@listings.example" in html
    assert "<script>alert('mail')</script>" not in page.text
    assert "999999" not in html
    assert "secret code" not in html
    assert boxes["eve@example.com"] not in html

    assert 'href="/mailbox"' in portal_stack.client.get("/account", cookies=dana.cookies).text


def test_a_customer_before_their_first_job_is_told_when_the_mailbox_comes(
    portal_stack: PortalStack,
) -> None:
    frank = portal_stack.customer("frank@example.com")
    page = portal_stack.client.get("/mailbox", cookies=frank.cookies)
    assert page.status_code == 200
    assert "made when your first order starts" in page.text


def test_a_long_mail_is_cut_on_the_page_and_the_page_says_so(portal_stack: PortalStack) -> None:
    # A mail is stored up to 1 MB; the page gets the first 20,000 characters of each.
    gail = portal_stack.customer("gail@example.com")
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        conn.execute("select jobs_enqueue(%s)", (gail.order_id,))
        local = conn.execute(
            "select m.local_part from customer_mailboxes m join customers c"
            " on c.id = m.customer_id where c.email = 'gail@example.com'"
        ).fetchone()
        assert local is not None
        _receive(
            conn,
            local[0],
            "<long@news.example>",
            sender="news@news.example",
            subject="A very long newsletter",
            text="a" * 19_996 + "CUT-HERE" + "b" * 500_000 + "THE-END",
        )
        _receive(
            conn,
            local[0],
            "<short@listings.example>",
            sender="noreply@listings.example",
            subject="Confirm",
            text="Your code is 424242",
        )

    page = portal_stack.client.get("/mailbox", cookies=gail.cookies)
    assert page.status_code == 200
    assert "A very long newsletter" in page.text
    assert "aaaaCUT-</pre>" in page.text  # exactly 20,000 characters
    assert "THE-END" not in page.text
    assert len(page.text) < 40_000
    assert page.text.count("only its beginning is on this page") == 1
    assert "Your code is 424242" in page.text
