"""The refunder against the Stripe stand-in and a real database: a completed job's shortfall
is refunded once through POST /v1/refunds and recorded on the order; a crash after Stripe
answered and before the record is retried with the same Idempotency-Key and finds the same
refund (Stripe's records hold one); a refusal is kept for staff, not retried forever."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from dbolt.sql import DatabaseUnavailable
from tests.support.webhook_harness import (
    STRIPE_KEY,
    Stack,
    fill_business,
    stack,
    use_directories,
    wait_for,
    webhook_settings,
)
from webhook import refunder
from webhook.state import WebhookState

__all__ = ["stack"]  # the fixture, imported for pytest


def _report(conn: psycopg.Connection[Any], job_id: Any, token: Any, report: dict[str, Any]) -> None:
    conn.execute(
        "select jobs_report_attempt(job_id => %s, lease_token => %s, report => %s)",
        (job_id, token, Jsonb({"attempt": 1, **report})),
    )


def complete_short_job(stack: Stack, email: str) -> dict[str, Any]:
    """A paid starter order (50 directories) whose job delivers 1 of the 2 the catalogue
    holds: 49 short."""
    use_directories(stack.conn, "dir-a", "dir-b")
    order = stack.paid_order(email)
    fill_business(stack.conn, order["customer_id"])
    job_id = stack.scalar("select id from jobs_enqueue(%s)", order["id"])
    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    _report(
        stack.conn,
        job_id,
        token,
        {"directory_id": "dir-a", "outcome": "success", "confirmed": True},
    )
    _report(
        stack.conn,
        job_id,
        token,
        {"directory_id": "dir-b", "outcome": "permanent_error", "error_code": "form_gone"},
    )
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))
    return order


def drain(
    stack: Stack, patch: Callable[[WebhookState], None] | None = None, key: str = STRIPE_KEY
) -> list[Any]:
    """One refunder round in its own event loop, as the webhook process runs it."""
    settings = webhook_settings(
        stack.db_url,
        stack.auth.url,
        stack.mail.smtp_url,
        stripe_api_base=stack.stripe_server.url,
        stripe_secret_key=SecretStr(key),
    )

    async def run() -> list[Any]:
        state = WebhookState.build(settings)
        await state.db.open()
        state.http = httpx.AsyncClient(timeout=10.0, trust_env=False)
        if patch is not None:
            patch(state)
        try:
            rows = await state.db.fetch_all(
                "shortfall_refunds_claim_due", batch_size=10, lease_seconds=60
            )
            return list(
                await asyncio.gather(
                    *(refunder.refund_one(state, row) for row in rows), return_exceptions=True
                )
            )
        finally:
            await state.http.aclose()
            await state.db.close()

    return asyncio.run(run())


def shortfall(stack: Stack, order_id: Any) -> dict[str, Any]:
    with stack.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute(
            "select * from shortfall_refunds where order_id = %s", (order_id,)
        ).fetchone()
    assert row is not None
    return row


def stripe_refunds(stack: Stack, payment_intent: str) -> list[dict[str, Any]]:
    refunds = stack.stripe_admin.get("/_admin/refunds").json()["refunds"]
    return [r for r in refunds if r["payment_intent"] == payment_intent]


def test_a_shortfall_is_refunded_once_and_recorded_on_the_order(stack: Stack) -> None:
    order = complete_short_job(stack, "short@example.com")
    owed = shortfall(stack, order["id"])
    assert (owed["promised"], owed["delivered"], owed["shortfall"]) == (50, 1, 49)
    assert owed["amount"] == order["amount_total"] * 49 // 50 > 0

    assert drain(stack) == ["refunded"]

    made = stripe_refunds(stack, order["stripe_payment_intent_id"])
    assert [(r["amount"], r["status"], r["metadata"]["kind"]) for r in made] == [
        (owed["amount"], "succeeded", "shortfall")
    ]
    recorded = shortfall(stack, order["id"])
    assert recorded["stripe_refund_id"] == made[0]["id"]
    assert recorded["refunded_amount"] == owed["amount"]
    assert recorded["refunded_at"] is not None

    # Nothing is left to claim, so a second round makes no second refund.
    assert drain(stack) == []
    assert len(stripe_refunds(stack, order["stripe_payment_intent_id"])) == 1

    # Stripe's charge.refunded for a partial refund reaches the webhook and changes nothing:
    # the order stays paid and the refund is counted once, here.
    wait_for(
        lambda: stack.scalar(
            "select count(*) from stripe_events where type = 'charge.refunded'"
            " and payload -> 'data' -> 'object' ->> 'payment_intent' = %s"
            " and processed_at is not null",
            order["stripe_payment_intent_id"],
        ),
        "the charge.refunded event applied",
    )
    assert stack.scalar("select status::text from orders where id = %s", order["id"]) == "paid"


def test_a_crash_after_stripe_answered_is_retried_into_the_same_refund(stack: Stack) -> None:
    order = complete_short_job(stack, "crash@example.com")

    def crash_before_recording(state: WebhookState) -> None:
        real = state.db.fetch_one

        async def fetch_one(name: str, **params: Any) -> Any:
            if name == "shortfall_refunds_settle_refunded":
                raise DatabaseUnavailable("the database went away after Stripe answered")
            return await real(name, **params)

        state.db.fetch_one = fetch_one  # type: ignore[method-assign]

    [outcome] = drain(stack, crash_before_recording)
    assert isinstance(outcome, DatabaseUnavailable)
    assert len(stripe_refunds(stack, order["stripe_payment_intent_id"])) == 1
    assert shortfall(stack, order["id"])["refunded_at"] is None

    # The lease runs out; the next round claims it again and calls Stripe again.
    stack.conn.execute(
        "update shortfall_refunds set claimed_until = now() - interval '1 second'"
        " where order_id = %s",
        (order["id"],),
    )
    assert drain(stack) == ["refunded"]

    made = stripe_refunds(stack, order["stripe_payment_intent_id"])
    assert len(made) == 1, "Stripe's records hold one refund, however often it was asked"
    recorded = shortfall(stack, order["id"])
    assert recorded["stripe_refund_id"] == made[0]["id"]
    assert recorded["attempts"] == 2


def test_stripe_refusing_the_refund_is_kept_for_staff(stack: Stack) -> None:
    order = complete_short_job(stack, "refused@example.com")
    # Staff refunded the whole charge in Stripe's dashboard in the meantime.
    answer = stack.stripe_admin.post(
        f"/_admin/sessions/{order['stripe_checkout_session_id']}/refund", json={}
    )
    assert answer.status_code == 200, answer.text

    assert drain(stack) == ["dead"]
    kept = shortfall(stack, order["id"])
    assert kept["dead_at"] is not None
    assert "charge_already_refunded" in kept["last_error"]
    assert kept["refunded_at"] is None
    assert drain(stack) == [], "a refusal is not retried"
    # Staff are told: an open alert and an audit row naming the order.
    alert = stack.conn.execute(
        "select message from alerts where kind = 'shortfall_refund_dead' and cleared_at is null"
    ).fetchone()
    assert alert is not None
    assert str(order["id"]) in alert[0]
    assert (
        stack.scalar(
            "select count(*) from audit_log where action = 'order.shortfall_refund_dead'"
            " and details ->> 'order_id' = %s",
            str(order["id"]),
        )
        == 1
    )


def test_a_directory_settled_undelivered_after_completion_is_refunded_as_a_second_settlement(
    stack: Stack,
) -> None:
    use_directories(stack.conn, "dir-a", "dir-b")
    order = stack.paid_order("later@example.com")
    fill_business(stack.conn, order["customer_id"])
    job_id = stack.scalar("select id from jobs_enqueue(%s)", order["id"])
    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    _report(
        stack.conn,
        job_id,
        token,
        {"directory_id": "dir-a", "outcome": "success", "confirmed": True},
    )
    # dir-b was sent but no confirmation was seen: in hand for staff when the job completes.
    _report(stack.conn, job_id, token, {"directory_id": "dir-b", "outcome": "success"})
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))
    assert drain(stack) == ["refunded"]

    stack.conn.execute(
        "select jobs_mark_failed(%s, 'dir-b', 'no listing on the site', 'staff:sam')", (job_id,)
    )
    assert drain(stack) == ["refunded"]

    total = order["amount_total"]
    rows = stack.conn.execute(
        "select seq, shortfall, amount, refunded_amount from shortfall_refunds"
        " where order_id = %s order by seq",
        (order["id"],),
    ).fetchall()
    assert rows == [
        (1, 48, total * 48 // 50, total * 48 // 50),
        (2, 1, total * 49 // 50 - total * 48 // 50, total * 49 // 50 - total * 48 // 50),
    ]
    made = stripe_refunds(stack, order["stripe_payment_intent_id"])
    assert sorted(r["amount"] for r in made) == sorted(row[2] for row in rows)
    assert sum(r["amount"] for r in made) == total * 49 // 50, "never more than pro rata"


def test_a_refused_key_is_retried_not_given_up(stack: Stack) -> None:
    order = complete_short_job(stack, "rotating@example.com")
    # Mid-rotation: the old key is already revoked at Stripe (401).
    assert drain(stack, key="sk_test_revoked_key_000000000000") == ["failed"]
    waiting = shortfall(stack, order["id"])
    assert waiting["dead_at"] is None
    assert "401" in waiting["last_error"]
    stack.conn.execute(
        "update shortfall_refunds set send_after = now() where order_id = %s", (order["id"],)
    )
    assert drain(stack) == ["refunded"], "the new key refunds it"
    assert len(stripe_refunds(stack, order["stripe_payment_intent_id"])) == 1
