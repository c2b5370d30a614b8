"""A reused database's time-bound leftovers are not mailed: a webhook starting on a database
that holds mail queued long ago (`make up` on the dev database days after a `make demo`, or a
notifier back from an outage) skips "your job has started" with the reason and a log line,
sends what is fresh, and records a reminder that fell due long ago as skipped (logged once)
so the chase resumes at its usual pace. A payment email is sent however late: it is where
the buyer's sign-in is created, and without it they could never sign in."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import psycopg
import pytest

from devstack import up
from devstack.mailcatcher import MailCatcher
from devstack.serving import AppServer
from devstack.supabase_api import Settings as SupabaseSettings
from devstack.supabase_api.auth_settings import AuthSettings
from devstack.supabase_api.server import ServerThread
from tests.support.ports import free_port
from tests.support.webhook_harness import PORTAL_URL, use_directories, wait_for, webhook_settings
from webhook.app import create_app


def inbox(mail: MailCatcher, to: str) -> list[dict[str, Any]]:
    listed = httpx.get(f"{mail.http_url}/api/messages", params={"to": to}, timeout=10)
    messages: list[dict[str, Any]] = listed.json()["messages"]
    return messages


def _left_behind(conn: psycopg.Connection[Any]) -> tuple[Any, Any]:
    """An order paid two days ago whose email never went out, and a job that needed action
    ten days ago (its reminder fell due eight days ago) whose "job started" never went out."""
    old_order = conn.execute("select dev.create_paid_order('old@example.com', 'starter')")
    order = old_order.fetchone()
    assert order is not None
    conn.execute(
        "update notifications set created_at = now() - interval '2 days' where order_id = %s",
        (order[0],),
    )
    use_directories(conn, "dir-a")
    job = conn.execute(
        "select id from jobs_enqueue(dev.create_paid_order('chased@example.com', 'starter'))"
    ).fetchone()
    assert job is not None
    token = conn.execute("select lease_token from jobs_next('worker-1', 300)").fetchone()
    assert token is not None
    conn.execute(
        "select jobs_report_attempt(job_id => %s, lease_token => %s, report => %s::jsonb)",
        (
            job[0],
            token[0],
            '{"directory_id": "dir-a", "attempt": 1, "outcome": "needs_action",'
            ' "action_required": "Click the link"}',
        ),
    )
    conn.execute(
        "update notifications set created_at = now() - interval '10 days',"
        " sent_at = case when kind = 'job_started' then null else now() - interval '10 days' end"
        " where job_id = %s or order_id = (select order_id from jobs where id = %s)",
        (job[0], job[0]),
    )
    return order[0], job[0]


def scalar(conn: psycopg.Connection[Any], sql: str, *params: Any) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def test_time_bound_mail_left_in_a_reused_database_is_skipped_and_the_rest_is_sent(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhook.notifier")

    def stale_reminder_lines() -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if getattr(r, "action", None) == "notification.reminders_stale"
        ]

    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        MailCatcher(smtp_port=free_port()) as mail,
    ):
        old_order, chased_job = _left_behind(conn)
        auth = AuthSettings(smtp_url=mail.smtp_url, site_url=PORTAL_URL)
        with ServerThread(SupabaseSettings(database_url=db_url, auth=auth)) as auth_server:
            # The cutoff `make up` gives its webhook; reminders checked before every round.
            settings = webhook_settings(
                db_url,
                auth_server.url,
                mail.smtp_url,
                notifier_stale_after_seconds=up.NOTIFIER_STALE_AFTER_SECONDS,
                reminder_check_seconds=0,
            )
            with AppServer(create_app(settings), "the webhook"):
                # The two-day-old payment email goes out: it carries the buyer's sign-in.
                wait_for(lambda: inbox(mail, "old@example.com"), "the old order's email")
                wait_for(stale_reminder_lines, "the stale reminder to be recorded")
                # A fresh order while the webhook runs: mailed as ever. Its round began
                # with another reminder check, which must not log the stale reminder again.
                conn.execute("select dev.create_paid_order('fresh@example.com', 'starter')")
                wait_for(lambda: inbox(mail, "fresh@example.com"), "the fresh order's email")
                stale_lines_after_later_checks = len(stale_reminder_lines())
                started_reason = scalar(
                    conn,
                    "select skipped_reason from notifications"
                    " where job_id = %s and kind = 'job_started'",
                    chased_job,
                )
                reminder_reason = scalar(
                    conn,
                    "select skipped_reason from notifications"
                    " where job_id = %s and kind = 'needs_action_reminder'",
                    chased_job,
                )
                assert inbox(mail, "chased@example.com") == []
                # Two days after the skipped reminder, the next one is sent.
                conn.execute(
                    "update notifications set created_at = now() - interval '2 days 1 minute'"
                    " where job_id = %s and kind = 'needs_action_reminder'",
                    (chased_job,),
                )
                wait_for(lambda: inbox(mail, "chased@example.com"), "the next reminder")
        linked = scalar(
            conn,
            "select user_id is not null from customers c join orders o on o.customer_id = c.id"
            " where o.id = %s",
            old_order,
        )
    assert linked, "the late payment email created and linked the buyer's sign-in"
    assert started_reason.startswith("stale: queued 10 days")
    assert reminder_reason.startswith("stale: fell due 8 days")
    assert stale_lines_after_later_checks == 1, "the stale reminder is logged once, not per check"
    stale_lines = [r for r in caplog.records if getattr(r, "action", None) == "notification.stale"]
    assert [(r.kind, r.job_id) for r in stale_lines] == [  # type: ignore[attr-defined]
        ("job_started", str(chased_job))
    ]


def test_make_up_gives_the_notifier_its_short_cutoff() -> None:
    planned, _ = up.services()
    webhook = next(s for s in planned if s.name == "webhook")
    assert isinstance(webhook, up.Process)
    assert webhook.env["NOTIFIER_STALE_AFTER_SECONDS"] == str(up.NOTIFIER_STALE_AFTER_SECONDS)
