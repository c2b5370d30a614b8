"""The notifier over real SMTP (the mail catcher) and a real database: job started, job
complete and needs-action emails fire exactly once each, with text and HTML parts and links
into the portal; a failed send is retried, never dropped; a cancelled job's news is skipped."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from devstack.serving import AppServer
from tests.support.ports import free_port
from tests.support.webhook_harness import (
    PORTAL_URL,
    Stack,
    fill_business,
    stack,
    use_directories,
    wait_for,
    webhook_settings,
)
from webhook.app import create_app

__all__ = ["stack"]  # the fixture, imported for pytest


def report(
    conn: psycopg.Connection[Any], job_id: Any, token: Any, directory: str, **kw: Any
) -> None:
    attempt_report = {
        "directory_id": directory,
        "attempt": 1,
        "outcome": kw.get("outcome", "success"),
        "confirmed": kw.get("confirmed", True),
        "action_required": kw.get("action"),
    }
    conn.execute(
        "select jobs_report_attempt(job_id => %s, lease_token => %s, report => %s)",
        (job_id, token, Jsonb(attempt_report)),
    )


def settled(stack: Stack, kind: str) -> int:
    return int(
        stack.scalar(
            "select count(*) from notifications where kind = %s::notification_kind"
            " and (sent_at is not null or skipped_reason is not null)",
            kind,
        )
    )


def test_job_started_needs_action_and_complete_fire_once_each(stack: Stack) -> None:
    use_directories(stack.conn, "dir-a", "dir-b", "dir-c")
    order = stack.paid_order("jobs@example.com")
    stack.wait_mails("jobs@example.com", 1)  # the payment email
    fill_business(stack.conn, order["customer_id"])
    job_id = stack.scalar("select id from jobs_enqueue(%s)", order["id"])

    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    wait_for(lambda: settled(stack, "job_started") == 1, "the job-started email")
    # Released and claimed again (a worker restart): no second "started" email.
    stack.conn.execute("select jobs_release(%s, %s)", (job_id, token))
    token = stack.scalar("select lease_token from jobs_next('worker-2', 300)")
    report(stack.conn, job_id, token, "dir-a")
    # One transaction: the notifier, quick to wake, cannot send the action email between the
    # two (it would then rightly list only dir-b, and the assertions below would flake).
    with stack.conn.transaction():
        report(
            stack.conn,
            job_id,
            token,
            "dir-b",
            outcome="needs_action",
            confirmed=False,
            action="Click the confirmation link Directory dir-b emailed you",
        )
        report(
            stack.conn,
            job_id,
            token,
            "dir-c",
            outcome="needs_action",
            confirmed=False,
            action="Answer the verification call",
        )
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))

    mails = stack.wait_mails("jobs@example.com", 4)
    wait_for(lambda: settled(stack, "job_complete") == 1, "the job-complete email")
    by_subject = {mail["subject"]: mail for mail in stack.mails("jobs@example.com")}
    assert sorted(by_subject) == sorted(
        [
            "Payment received — tell us about your business",
            "We have started submitting Bluebird Bakery",
            "Action needed for Bluebird Bakery",
            "Your DirectoryBolt report for Bluebird Bakery is ready",
        ]
    ), [m["subject"] for m in mails]
    assert len(stack.mails("jobs@example.com")) == 4, "each email exactly once"

    started = by_subject["We have started submitting Bluebird Bakery"]
    action = by_subject["Action needed for Bluebird Bakery"]
    complete = by_subject["Your DirectoryBolt report for Bluebird Bakery is ready"]
    for mail in (started, action, complete):
        assert mail["text"], "a text part"
        assert mail["html"], "an HTML part"
    job_url = f"{PORTAL_URL}/jobs/{job_id}"
    assert job_url in started["links"]
    assert job_url in action["links"]
    assert f"{job_url}/report" in complete["links"]
    assert "3 directories" in started["text"]
    assert "Directory dir-b: Click the confirmation link" in action["text"]
    assert "Directory dir-c: Answer the verification call" in action["text"]
    assert "<li>Directory dir-c: Answer the verification call</li>" in action["html"]
    assert "to 3 directories." in started["text"]
    assert "2 directories need you to finish the listing" in action["text"]
    assert "1 of 3 directories accepted your business or already listed it" in complete["text"]
    assert "2 directories still need something from you" in complete["text"]
    payment = by_subject["Payment received — tell us about your business"]
    assert "Today our catalogue has up to 3 directories for this package." in payment["text"]


def test_every_email_words_a_single_directory_in_the_singular(stack: Stack) -> None:
    use_directories(stack.conn, "dir-a")
    order = stack.paid_order("one@example.com")
    [payment] = stack.wait_mails("one@example.com", 1)
    assert "(50 directories)" in payment["text"]
    assert "Today our catalogue has up to 1 directory for this package." in payment["text"]
    fill_business(stack.conn, order["customer_id"])
    job_id = stack.scalar("select id from jobs_enqueue(%s)", order["id"])
    token = stack.scalar("select lease_token from jobs_next('worker-1', 300)")
    report(
        stack.conn,
        job_id,
        token,
        "dir-a",
        outcome="needs_action",
        confirmed=False,
        action="Answer the verification call",
    )
    stack.conn.execute("select jobs_complete(%s, %s)", (job_id, token))

    stack.wait_mails("one@example.com", 4)
    by_subject = {mail["subject"]: mail for mail in stack.mails("one@example.com")}
    started = by_subject["We have started submitting Bluebird Bakery"]["text"]
    action = by_subject["Action needed for Bluebird Bakery"]["text"]
    complete = by_subject["Your DirectoryBolt report for Bluebird Bakery is ready"]["text"]
    assert "we have started submitting Bluebird Bakery to 1 directory." in started
    assert "1 directory needs you to finish the listing for Bluebird Bakery" in action
    assert "0 of 1 directory accepted your business or already listed it" in complete
    assert "1 directory still needs something from you" in complete
    for mail in by_subject.values():
        assert not re.search(r"\b1 directories|\b[02-9]\d* directory\b", mail["text"]), mail


def test_a_failed_send_is_retried_not_dropped(db_url: str) -> None:
    # Auth and SMTP are unreachable: the payment email fails, keeps its error and is retried
    # until max attempts, then kept as dead (visible), never dropped.
    dead_smtp = f"smtp://127.0.0.1:{free_port()}"
    settings = webhook_settings(
        db_url,
        "http://127.0.0.1:9",
        dead_smtp,
        notifier_max_attempts=2,
        notifier_retry_base_seconds=0,
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        order_id = conn.execute("select dev.create_paid_order('retry@example.com', 'starter')")
        order = order_id.fetchone()
        assert order is not None
        with AppServer(create_app(settings), "the webhook"):

            def dead() -> Any:
                return conn.execute(
                    "select attempts, last_error, dead_at from notifications where order_id = %s"
                    " and dead_at is not null",
                    (order[0],),
                ).fetchone()

            attempts, last_error, _ = wait_for(dead, "the message to give up after 2 attempts")
    assert attempts == 2
    assert last_error, "the last error is kept"


def test_a_cancelled_jobs_news_is_skipped(db_url: str) -> None:
    settings = webhook_settings(
        db_url,
        "http://127.0.0.1:9",
        f"smtp://127.0.0.1:{free_port()}",
        supabase_service_role_key=SecretStr(""),
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        use_directories(conn, "dir-a")
        job_id = conn.execute(
            "select id from jobs_enqueue(dev.create_paid_order('cancel@example.com', 'starter'))"
        ).fetchone()
        assert job_id is not None
        conn.execute("select jobs_next('worker-1', 300)")
        conn.execute("select jobs_cancel(%s, 'staff:alice')", (job_id[0],))
        with AppServer(create_app(settings), "the webhook"):
            reason = wait_for(
                lambda: conn.execute(
                    "select skipped_reason from notifications where kind = 'job_started'"
                    " and skipped_reason is not null"
                ).fetchone(),
                "the job-started email to be skipped",
            )
    assert reason == ("job is cancelled",)
