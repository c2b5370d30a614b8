"""The refunder: pays back what a completed job did not deliver, through Stripe's refund API.

When a job completes short of its package's count, the database writes what is owed (a
`shortfall_refunds` row) in the completion's own transaction. Each round here claims the due
rows (a lease, SKIP LOCKED, as the notifier does), asks Stripe for the refund and records
Stripe's refund id and amount on the row.

Exactly once, across retries and crashes: every call for a row carries the same
Idempotency-Key (the row's, derived from the order) and the same parameters, so Stripe makes
the refund on the first call and answers every later one with that same refund. A process
that dies after Stripe answered and before the row was marked loses its lease; the next
claim calls again, is answered with the refund already made, and records it.

Stripe refusing the request (4xx: the charge is already refunded, disputed…) is kept as dead
at once for staff, since the same key would only be answered with the same refusal; Stripe
unreachable or failing (5xx, 429, network) or refusing our key (401/403, e.g. mid-rotation)
is retried with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dbolt.log import scrub
from dbolt.sql import DatabaseUnavailable
from webhook.state import WebhookState

log = logging.getLogger(__name__)


class StripeRefused(Exception):
    """Stripe answered with a refusal that retrying with the same key cannot change."""


async def create_refund(state: WebhookState, row: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/refunds for the row; Stripe's refund object."""
    settings = state.settings
    assert state.http is not None
    response = await state.http.post(
        f"{settings.stripe_api_base.rstrip('/')}/v1/refunds",
        data={
            "payment_intent": row["payment_intent"],
            "amount": str(row["amount"]),
            "reason": "requested_by_customer",
            "metadata[order_id]": str(row["order_id"]),
            "metadata[job_id]": str(row["job_id"]),
            "metadata[kind]": "shortfall",
        },
        headers={
            "Authorization": f"Bearer {settings.stripe_secret_key.get_secret_value()}",
            "Idempotency-Key": row["idempotency_key"],
        },
    )
    if response.status_code == 200:
        refund: dict[str, Any] = response.json()
        return refund
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    detail = (
        f"stripe {response.status_code} {error.get('type', '')} {error.get('code', '')}: "
        f"{error.get('message', response.text[:200])}"
    )
    # 401/403: our key was refused (being rotated, say): that changes without the request
    # changing, so it is retried like Stripe being away, not given up at once.
    if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 409, 429):
        raise StripeRefused(detail)
    raise RuntimeError(detail)


async def refund_one(state: WebhookState, row: dict[str, Any]) -> str:
    """Refund and settle one claimed row; returns how it was settled."""
    settings = state.settings
    ids = {"id": row["id"], "claim_token": row["claim_token"]}
    context = {"shortfall_refund_id": row["id"], "order_id": str(row["order_id"])}
    try:
        refund = await create_refund(state, row)
    except DatabaseUnavailable:
        raise
    except Exception as error:
        refused = isinstance(error, StripeRefused)
        reason = scrub(f"{type(error).__name__}: {error}")[:2000]
        settled = await state.db.fetch_one(
            "shortfall_refunds_settle_failed",
            error=reason,
            retry_base_seconds=settings.refunder_retry_base_seconds,
            # A refusal is final: the same key is answered with the same refusal.
            max_attempts=row["attempts"] if refused else settings.refunder_max_attempts,
            **ids,
        )
        dead = settled is not None and settled["dead_at"] is not None
        log.log(
            logging.ERROR if dead else logging.WARNING,
            "shortfall refund gave up, staff must refund by hand"
            if dead
            else "shortfall refund failed, will retry",
            extra={
                "action": "refund.dead" if dead else "refund.failed",
                "error": reason,
                **context,
            },
        )
        return "dead" if dead else "failed"
    await state.db.fetch_one(
        "shortfall_refunds_settle_refunded",
        stripe_refund_id=refund["id"],
        amount=refund["amount"],
        **ids,
    )
    log.info(
        "shortfall refunded",
        extra={
            "action": "refund.created",
            "stripe_refund_id": refund["id"],
            "amount": refund["amount"],
            **context,
        },
    )
    return "refunded"


async def drain_once(state: WebhookState) -> int:
    """One round: claim the due refunds and make them. Returns how many were claimed."""
    settings = state.settings
    rows = await state.db.fetch_all(
        "shortfall_refunds_claim_due",
        batch_size=settings.refunder_batch_size,
        lease_seconds=settings.refunder_lease_seconds,
    )
    results = await asyncio.gather(
        *(refund_one(state, row) for row in rows), return_exceptions=True
    )
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, BaseException):
            # Unsettled (the database went away): the lease runs out, the row is claimed again
            # and the same Idempotency-Key makes the retry find the refund already made.
            log.warning(
                "shortfall refund left for retry",
                extra={
                    "action": "refund.unsettled",
                    "shortfall_refund_id": row["id"],
                    "error": scrub(str(result)),
                },
            )
    return len(rows)


async def run_forever(state: WebhookState) -> None:
    settings = state.settings
    while True:
        claimed = 0
        try:
            claimed = await drain_once(state)
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable as error:
            log.warning(
                "refunder: database unreachable",
                extra={"action": "refunder.db_down", "error": str(error)},
            )
        except Exception:
            # Catch, log and continue: one bad round must not stop the refunds for good.
            log.exception("refunder round failed", extra={"action": "refunder.failed"})
        if claimed < settings.refunder_batch_size:
            await asyncio.sleep(settings.refunder_poll_seconds)
