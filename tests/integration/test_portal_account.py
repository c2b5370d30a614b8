"""GET /account: the signed-in customer's own orders and jobs with links to what comes next."""

from __future__ import annotations

import re
import uuid
from datetime import UTC

import psycopg
from psycopg.types.json import Jsonb

from tests.support.portal_harness import PortalStack, sign_in_cookies
from tests.support.portal_jobs import Job, refund_shortfall
from tests.support.queue_helpers import enable_test_directories


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
    assert "0 processed so far" in html
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


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").strip()


def _order_card(html: str, order_id: uuid.UUID) -> str:
    """The words of one order's card on the account page."""
    start = html.rindex("<li", 0, html.index(f'id="order-{order_id}"'))
    return _text(html[start : html.index("</li>", start)])


def _job_for(stack: PortalStack, email: str, tier: str, amount: int) -> Job:
    customer = stack.customer(email, tier)
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute(
            "update orders set amount_total = %s, stripe_payment_intent_id = %s where id = %s",
            (amount, f"pi_test_{customer.order_id.hex}", customer.order_id),
        )
        (job_id,) = conn.execute(
            "select id from jobs_enqueue(%s)", (customer.order_id,)
        ).fetchone() or (None,)
        directories = [
            row[0]
            for row in conn.execute(
                "select directory_id from job_directories where job_id = %s order by position",
                (job_id,),
            )
        ]
    return Job(stack.db_url, customer, job_id, directories)


def test_each_order_tells_one_story_in_the_job_pages_words(portal_stack: PortalStack) -> None:
    """A growth package (100 directories) whose job holds the 4 directories the catalogue has:
    the account page says what the package promised, what the job holds and has processed,
    what was delivered and what was refunded for the rest, in the job page's own sentences;
    never "100 directories … 4 of 4 done" side by side."""
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        enable_test_directories(conn, 4)
    done = _job_for(portal_stack, "gina@example.com", "growth", 14_900)
    done.claim()
    first, second, third, fourth = done.directories
    for directory in (first, second, third):
        done.report(directory, listing_url=f"https://listings.example/{directory}")
    done.report(fourth, "permanent_error", error_code="duplicate_listing")
    done.complete()

    page = portal_stack.client.get("/account", cookies=done.customer.cookies)
    assert page.status_code == 200
    card = _order_card(page.text, done.customer.order_id)
    # 97 short of 100: 97/100 of $149, owed (the refunder has not run yet).
    (paid_at,) = done.sql("select paid_at from orders where id = %s", done.customer.order_id)[0]
    paid_on = paid_at.astimezone(UTC).strftime("%-d %b %Y")
    assert card == (
        f"Growth package Complete Paid {paid_on} · $149"
        " Your package promised 100 directories: 3 delivered."
        " Your job holds 4 directories, all processed."
        " We could not deliver 97 directories: $144.53 is being refunded to your card."
        " Progress of the Growth order · Report of the Growth order"
        " · Business details of the Growth order"
    )
    assert "4 of 4" not in card
    job_page = _text(
        portal_stack.client.get(f"/jobs/{done.id}", cookies=done.customer.cookies).text
    )
    assert "Your package promised 100 directories: 3 delivered." in job_page
    assert (
        "We could not deliver 97 directories: $144.53 is being refunded to your card." in job_page
    )
    assert "4 of 4 directories processed" in job_page

    refund_shortfall(done, "re_test_gina")
    working = _job_for(portal_stack, "gina@example.com", "starter", 4_900)
    working.claim()
    working.report(working.directories[0], listing_url="https://listings.example/starter")
    html = portal_stack.client.get("/account", cookies=done.customer.cookies).text
    assert "We could not deliver 97 directories: $144.53 was refunded to your card." in (
        _order_card(html, done.customer.order_id)
    )
    card = _order_card(html, working.customer.order_id)
    assert "Starter package In progress" in card
    assert (
        "Your package promised 50 directories: 1 delivered so far."
        " Your job holds 4 directories: 1 processed so far."
        " 46 directories short so far: whatever we cannot deliver is refunded pro rata when"
        " your job completes."
    ) in card


def test_a_refunded_or_disputed_order_says_so_whatever_its_job_reached(
    portal_stack: PortalStack,
) -> None:
    """A full refund after the job completed is not "Complete", and a dispute that cancelled
    the job is not just "Cancelled": the badge and a sentence say what became of the payment,
    and no shortfall refund is promised on top of a full one."""
    with psycopg.connect(portal_stack.db_url, autocommit=True) as conn:
        enable_test_directories(conn, 2)
    refunded = _job_for(portal_stack, "hal@example.com", "starter", 4_900)
    refunded.claim()
    for directory in refunded.directories:
        refunded.report(directory, listing_url=f"https://listings.example/{directory}")
    refunded.complete()
    disputed = _job_for(portal_stack, "hal@example.com", "growth", 14_900)
    disputed.claim()
    # Stripe's events, as the webhook applies them.
    for job, kind, charge in (
        (refunded, "charge.refunded", {"refunded": True, "amount_refunded": 4_900}),
        (disputed, "charge.dispute.created", {}),
    ):
        intent = f"pi_test_{job.customer.order_id.hex}"
        event = {
            "id": f"evt_{intent}",
            "object": "event",
            "type": kind,
            "data": {"object": {"id": f"ch_{intent}", "payment_intent": intent, **charge}},
        }
        job.sql("select stripe_events_apply(%s, true)", Jsonb(event))

    html = portal_stack.client.get("/account", cookies=refunded.customer.cookies).text
    card = _order_card(html, refunded.customer.order_id)
    assert card.startswith("Starter package Refunded Paid"), card
    assert "Complete" not in card
    assert "Your job holds 2 directories, all processed." in card
    assert "The payment for this order was refunded in full." in card
    assert "is being refunded" not in card
    card = _order_card(html, disputed.customer.order_id)
    assert card.startswith("Growth package Payment disputed Paid"), card
    assert "Cancelled" not in card
    assert "The payment for this order is disputed." in card
