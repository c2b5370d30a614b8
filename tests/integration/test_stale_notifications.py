"""A reused database's leftovers are not mailed: a webhook starting on a database that holds
mail queued long ago (`make up` on the dev database days after a `make demo`, or a notifier
back from an outage) skips it with the reason and a log line, sends what is fresh, and does
not chase needs-action jobs whose reminders fell due long ago."""

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
    ten days ago (its reminder fell due eight days ago)."""
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
        "update notifications set sent_at = now() - interval '10 days',"
        " created_at = now() - interval '10 days'"
        " where job_id = %s or order_id = (select order_id from jobs where id = %s)",
        (job[0], job[0]),
    )
    return order[0], job[0]


def scalar(conn: psycopg.Connection[Any], sql: str, *params: Any) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def test_mail_left_in_a_reused_database_is_skipped_and_fresh_mail_is_sent(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhook.notifier")
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        MailCatcher(smtp_port=free_port()) as mail,
    ):
        old_order, chased_job = _left_behind(conn)
        auth = AuthSettings(smtp_url=mail.smtp_url, site_url=PORTAL_URL)
        with ServerThread(SupabaseSettings(database_url=db_url, auth=auth)) as auth_server:
            # The cutoff `make up` gives its webhook.
            settings = webhook_settings(
                db_url,
                auth_server.url,
                mail.smtp_url,
                notifier_stale_after_seconds=up.NOTIFIER_STALE_AFTER_SECONDS,
            )
            with AppServer(create_app(settings), "the webhook"):
                # A fresh order while the webhook runs: mailed as ever.
                conn.execute("select dev.create_paid_order('fresh@example.com', 'starter')")
                wait_for(lambda: inbox(mail, "fresh@example.com"), "the fresh order's email")
                reason = wait_for(
                    lambda: scalar(
                        conn,
                        "select skipped_reason from notifications where order_id = %s",
                        old_order,
                    ),
                    "the old order's email to be skipped",
                )
                wait_for(
                    lambda: any(
                        getattr(r, "action", None) == "notification.reminders_stale"
                        for r in caplog.records
                    ),
                    "the reminder check",
                )
        assert inbox(mail, "old@example.com") == []
        assert inbox(mail, "chased@example.com") == []
        reminders = scalar(
            conn,
            "select count(*) from notifications"
            " where job_id = %s and kind = 'needs_action_reminder'",
            chased_job,
        )
    assert reason.startswith("stale: queued 2 days")
    assert reminders == 0, "no reminder for a job whose reminder fell due days ago"
    stale_lines = [r for r in caplog.records if getattr(r, "action", None) == "notification.stale"]
    assert [(r.kind, r.order_id) for r in stale_lines] == [  # type: ignore[attr-defined]
        ("payment_received", str(old_order))
    ]


def test_make_up_gives_the_notifier_its_short_cutoff() -> None:
    planned, _ = up.services()
    webhook = next(s for s in planned if s.name == "webhook")
    assert isinstance(webhook, up.Process)
    assert webhook.env["NOTIFIER_STALE_AFTER_SECONDS"] == str(up.NOTIFIER_STALE_AFTER_SECONDS)
