"""Reminder emails stop for a directory the customer marked done ("I've done it"), through
the real notifier and SMTP catcher: the next reminder lists only what still needs the
customer; once nothing does, no reminder is queued, and one queued just before is skipped,
never sent."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tests.integration.test_notifications import report
from tests.support.webhook_harness import (
    Stack,
    fill_business,
    stack,
    use_directories,
    wait_for,
)

__all__ = ["stack"]  # the fixture, imported for pytest


def mark_done(conn: psycopg.Connection[Any], user_id: Any, job_id: Any, directory: str) -> None:
    """customers_mark_action_done under the customer's JWT, as the portal calls it."""
    claims = {"sub": str(user_id), "role": "authenticated", "aud": "authenticated"}
    with conn.transaction():
        conn.execute(
            "select set_config('role', 'authenticated', true),"
            " set_config('request.jwt.claims', %s, true)",
            (json.dumps(claims),),
        )
        conn.execute(
            "select customers_mark_action_done(job_id => %s, directory_id => %s)",
            (job_id, directory),
        )
        conn.execute("reset role")


def age_sent_emails(stack: Stack, job_id: Any) -> None:
    """As if the emails so far went out three days ago: a reminder is due."""
    stack.conn.execute(
        "update notifications set sent_at = now() - interval '3 days'"
        " where job_id = %s and sent_at is not null",
        (job_id,),
    )


def queue_reminders(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "select notifications_enqueue_reminders(remind_after_seconds => 86400, max_reminders => 5)"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_reminders_stop_for_what_the_customer_has_done(stack: Stack) -> None:
    use_directories(stack.conn, "dir-a", "dir-b", "dir-c")
    order = stack.paid_order("remind@example.com")
    stack.wait_mails("remind@example.com", 1)  # the payment email links the Auth user
    fill_business(stack.conn, order["customer_id"])
    user_id = wait_for(
        lambda: stack.scalar("select user_id from customers where id = %s", order["customer_id"]),
        "the customer's Auth user",
    )
    job_id = stack.scalar("select id from jobs_enqueue(%s)", order["id"])
    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    report(stack.conn, job_id, token, "dir-a")
    for directory, action in [
        ("dir-b", "Click the link B emailed you"),
        ("dir-c", "Answer C's call"),
    ]:
        report(
            stack.conn,
            job_id,
            token,
            directory,
            outcome="needs_action",
            confirmed=False,
            action=action,
        )
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))
    stack.wait_mails("remind@example.com", 4)  # payment, started, action needed, complete

    # dir-b done: the next reminder is about dir-c only.
    mark_done(stack.conn, user_id, job_id, "dir-b")
    age_sent_emails(stack, job_id)
    assert queue_reminders(stack.conn) == 1
    mails = stack.wait_mails("remind@example.com", 5)
    reminder = [m for m in mails if m["subject"].startswith("Reminder")]
    assert len(reminder) == 1, [m["subject"] for m in mails]
    # One directory left: said in the singular.
    assert reminder[-1]["subject"] == "Reminder: 1 directory is waiting for Bluebird Bakery"
    assert "A reminder: 1 directory is still waiting for you" in reminder[-1]["text"]
    assert "Directory dir-c: Answer C's call" in reminder[-1]["text"]
    assert "Click the link B emailed you" not in reminder[-1]["text"]
    assert "Directory dir-b" not in reminder[-1]["text"]

    # A reminder queued just before dir-c is done is skipped, not sent; and none follows.
    age_sent_emails(stack, job_id)
    with stack.conn.transaction():
        assert queue_reminders(stack.conn) == 1
        mark_done(stack.conn, user_id, job_id, "dir-c")
    wait_for(
        lambda: stack.scalar(
            "select skipped_reason from notifications where job_id = %s"
            " and kind = 'needs_action_reminder' order by id desc limit 1",
            job_id,
        ),
        "the last reminder to be settled",
    )
    assert (
        stack.scalar(
            "select skipped_reason from notifications where job_id = %s"
            " and kind = 'needs_action_reminder' order by id desc limit 1",
            job_id,
        )
        == "nothing needs action any more"
    )
    age_sent_emails(stack, job_id)
    # Without the check that something still needs the customer, a third reminder would be due.
    assert queue_reminders(stack.conn) == 0
    assert len(stack.mails("remind@example.com")) == 5, "no email after the customer was done"
