"""The notifier: drains the notifications outbox in the background of the webhook process.

Each round claims a batch of due messages (a lease, SKIP LOCKED, so several processes may
drain together), composes each email from the database as it is NOW (an order refunded or a
job cancelled since is skipped, with the reason), sends it over SMTP and settles it: sent,
skipped, or failed (retried with backoff; dead after max attempts, kept with its error).
The payment email first finds or creates the buyer's Auth user (admin generate_link) and
links the customer to it. A message claimed by a process that dies is retried when its
lease runs out: delivery is at least once, never silently dropped.

Time-bound mail ("your job has started", reminders) queued longer ago than
NOTIFIER_STALE_AFTER_SECONDS (the notifier was not running: a reused dev database, an
outage) is skipped with the reason and a log line, never sent late; a reminder that fell due
that long ago is recorded as skipped (logged once) and the next one follows at the usual
pace. The payment email (it creates the buyer's sign-in), the report and the first
needs-action notice are sent however late (20261207000610 says why, kind by kind).

The loop catches, logs and continues: one failed round (the database restarting, SMTP away,
a bug in one email) must never stop the emails for the rest of the process's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from dbolt import mailer
from dbolt.auth_admin import generate_magic_link
from dbolt.log import scrub
from dbolt.sql import DatabaseUnavailable
from webhook import emails
from webhook.state import WebhookState

log = logging.getLogger(__name__)


class Skip(Exception):
    """What the message announced no longer holds; settle it without sending."""


async def _payment_email(state: WebhookState, note: dict[str, Any]) -> EmailMessage:
    settings = state.settings
    order = await state.db.fetch_one("orders_get_for_notification", order_id=note["order_id"])
    if order is None:
        raise Skip("order no longer exists")
    if order["status"] != "paid":
        raise Skip(f"order is {order['status']}")
    assert state.http is not None
    link = await generate_magic_link(
        state.http,
        settings.supabase_url,
        settings.supabase_service_role_key.get_secret_value(),
        order["email"],
    )
    await state.db.fetch_one(
        "customers_link_user", customer_id=order["customer_id"], user_id=link.user_id
    )
    query = urlencode(
        {
            "token_hash": link.hashed_token,
            "type": link.verification_type,
            "next": f"/orders/{order['order_id']}/business",
        }
    )
    url = f"{settings.portal_base}/auth/confirm?{query}"
    return emails.payment_received(order, url).message(note["recipient"])


async def _job_email(state: WebhookState, note: dict[str, Any]) -> EmailMessage:
    job = await state.db.fetch_one("jobs_get_for_notification", job_id=note["job_id"])
    if job is None:
        raise Skip("job no longer exists")
    if job["status"] == "cancelled":
        raise Skip("job is cancelled")
    base = f"{state.settings.portal_base}/jobs/{job['job_id']}"
    kind = note["kind"]
    if kind == "job_started":
        email = emails.job_started(job, base)
    elif kind == "job_complete":
        email = emails.job_complete(job, f"{base}/report")
    elif kind in REMINDER_KINDS:
        if not job["needs_action"]:
            raise Skip("nothing needs action any more")
        unsubscribe_url = await _reminder_unsubscribe_url(state, note)
        email = emails.needs_action(job, base, note["payload"].get("reminder"), unsubscribe_url)
    else:
        if not job["needs_action"]:
            raise Skip("nothing needs action any more")
        email = emails.needs_action(job, base)
    return email.message(note["recipient"])


# The mail a customer can stop with the unsubscribe link (List-Unsubscribe): the repeated
# reminders. Everything else is about what they bought and always goes out: the payment
# receipt, job started, the report, and the first notice that a directory needs them (one
# per job; without it their listings would fail without a word).
REMINDER_KINDS = frozenset({"needs_action_reminder"})
REMINDERS_LIST = "reminders"
# How long an unsubscribe link works: long after the last reminder (a few days apart, at
# most max_reminders of them), so an old email's link still works when someone finally
# tidies their inbox; an expired one says so and points to a newer email.
UNSUBSCRIBE_LINK_SECONDS = 90 * 24 * 3600


async def _reminder_unsubscribe_url(state: WebhookState, note: dict[str, Any]) -> str:
    """Skips the reminder if the customer stopped reminders (checked at send time, so one
    queued before they unsubscribed is not sent either); otherwise their one-click link (the
    same one while it is unexpired, so a retry mints no other: 20261207000210)."""
    stopped = await state.db.fetch_one(
        "email_opt_outs_get", customer_id=note["customer_id"], list=REMINDERS_LIST
    )
    if stopped is not None:
        raise Skip("the customer unsubscribed from reminders")
    link = await state.db.fetch_one(
        "email_unsubscribe_links_issue",
        customer_id=note["customer_id"],
        list=REMINDERS_LIST,
        valid_seconds=UNSUBSCRIBE_LINK_SECONDS,
    )
    assert link is not None
    return f"{state.settings.portal_base}/unsubscribe/{link['token']}"


async def compose(state: WebhookState, note: dict[str, Any]) -> EmailMessage:
    if note["kind"] == "payment_received":
        return await _payment_email(state, note)
    return await _job_email(state, note)


async def deliver(state: WebhookState, note: dict[str, Any]) -> str:
    """Compose, send and settle one claimed message; returns how it was settled."""
    settings = state.settings
    ids = {"id": note["id"], "claim_token": note["claim_token"]}
    context = {"notification_id": note["id"], "kind": note["kind"], "attempt": note["attempts"]}
    try:
        message = await compose(state, note)
        await mailer.send_async(settings.smtp_url.get_secret_value(), message)
    except Skip as skip:
        await state.db.fetch_one("notifications_settle_skipped", reason=str(skip), **ids)
        log.info(
            "notification skipped",
            extra={"action": "notification.skipped", "reason": str(skip), **context},
        )
        return "skipped"
    except DatabaseUnavailable:
        raise
    except Exception as error:
        reason = scrub(f"{type(error).__name__}: {error}")[:2000]
        row = await state.db.fetch_one(
            "notifications_settle_failed",
            error=reason,
            retry_base_seconds=settings.notifier_retry_base_seconds,
            max_attempts=settings.notifier_max_attempts,
            **ids,
        )
        dead = row is not None and row["dead_at"] is not None
        log.log(
            logging.ERROR if dead else logging.WARNING,
            "notification gave up" if dead else "notification failed, will retry",
            extra={
                "action": "notification.dead" if dead else "notification.failed",
                "error": reason,
                **context,
            },
        )
        return "dead" if dead else "failed"
    await state.db.fetch_one("notifications_settle_sent", **ids)
    log.info("notification sent", extra={"action": "notification.sent", **context})
    return "sent"


def _stale_after(state: WebhookState) -> int | None:
    return state.settings.notifier_stale_after_seconds or None


async def skip_stale(state: WebhookState) -> int:
    """Settle every time-bound message queued before the cutoff as skipped; one log line each."""
    stale_after = _stale_after(state)
    if stale_after is None:
        return 0
    skipped = await state.db.fetch_all("notifications_skip_stale", stale_after_seconds=stale_after)
    for note in skipped:
        log.info(
            "notification skipped: queued before the cutoff, not sent late",
            extra={
                "action": "notification.stale",
                "notification_id": note["id"],
                "kind": note["kind"],
                "order_id": str(note["order_id"]) if note["order_id"] else None,
                "job_id": str(note["job_id"]) if note["job_id"] else None,
                "queued_at": note["created_at"].isoformat(),
                "stale_after_seconds": stale_after,
            },
        )
    return len(skipped)


async def drain_once(state: WebhookState) -> int:
    """One round: skip what is stale, then claim a batch and deliver it concurrently.
    Returns how many were claimed."""
    settings = state.settings
    await skip_stale(state)
    notes = await state.db.fetch_all(
        "notifications_claim_due",
        batch_size=settings.notifier_batch_size,
        lease_seconds=settings.notifier_lease_seconds,
    )
    results = await asyncio.gather(
        *(deliver(state, note) for note in notes), return_exceptions=True
    )
    for note, result in zip(notes, results, strict=True):
        if isinstance(result, BaseException):
            # Unsettled (the database went away mid-delivery): its lease runs out and it is
            # claimed again, so it is retried rather than lost.
            log.warning(
                "notification left for retry",
                extra={
                    "action": "notification.unsettled",
                    "notification_id": note["id"],
                    "error": scrub(str(result)),
                },
            )
    return len(notes)


async def run_forever(state: WebhookState) -> None:
    settings = state.settings
    failures = 0
    next_reminders = 0.0
    while True:
        claimed = 0
        # Cleared before the round, so a wake-up during it is not lost.
        state.wake.clear()
        try:
            if time.monotonic() >= next_reminders:
                row = await state.db.fetch_one(
                    "notifications_queue_reminders",
                    remind_after_seconds=settings.reminder_after_seconds,
                    max_reminders=settings.max_reminders,
                    stale_after_seconds=_stale_after(state),
                )
                next_reminders = time.monotonic() + settings.reminder_check_seconds
                if row and row["queued"]:
                    log.info(
                        "reminders queued",
                        extra={"action": "notification.reminders", "queued": row["queued"]},
                    )
                if row and row["stale"]:
                    log.info(
                        "reminders skipped: they fell due before the cutoff",
                        extra={"action": "notification.reminders_stale", "stale": row["stale"]},
                    )
            claimed = await drain_once(state)
            failures = 0
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable as error:
            failures += 1
            if failures == 1:
                log.warning(
                    "notifier: database unreachable",
                    extra={"action": "notifier.db_down", "error": str(error)},
                )
        except Exception:
            # Catch, log and continue (see the module docstring).
            failures += 1
            log.exception("notifier round failed", extra={"action": "notifier.failed"})
        if claimed >= settings.notifier_batch_size:
            continue  # a full batch: there is probably more waiting
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.wake.wait(), settings.notifier_poll_seconds)
