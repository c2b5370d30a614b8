"""What the account page says about each order, as one story: the package and what it
promised, how many directories its job holds and how many of them are processed, what was
delivered, and what was (or will be) refunded for the rest.

The promise's own sentences are the job page's (dbolt.package_promise.Promise.sentences, the
same object the completion email and the report print), and "processed" counts what the job
page's progress bar counts, so the account page never tells a different story.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbolt.package_promise import Promise
from dbolt.words import count_of
from portal.reports.progress import StateWords, job_state_words

# An order that is not (or no longer) paid has nothing for its customer to do.
ORDER_STATES: dict[str, StateWords] = {
    "pending": StateWords("Payment pending", "warn", "We are waiting for the payment."),
    "payment_failed": StateWords("Payment failed", "bad", "The payment did not go through."),
    "refunded": StateWords("Refunded", "bad", "The payment for this order was refunded in full."),
    "disputed": StateWords("Payment disputed", "bad", "The payment for this order is disputed."),
}
# A payment taken back (a full refund, or a dispute) outranks whatever its job reached: a
# refunded order whose job completed is not "Complete", and a disputed one is not merely
# "Cancelled" (the job is cancelled because of the dispute).
REVERSED = frozenset({"refunded", "disputed"})


def order_badge(order: Mapping[str, Any]) -> StateWords | None:
    """The one badge an order shows: a refunded or disputed order says so; otherwise its
    job's state once it has one, the order's own state when it is not paid, none for a paid
    order still waiting for its business details."""
    if str(order["status"]) not in REVERSED and order.get("job_id"):
        return job_state_words(str(order["job_status"]))
    return ORDER_STATES.get(str(order["status"]))


def order_story(order: Mapping[str, Any], promise: Promise | None) -> list[str]:
    """The order's sentences, in the order a person reads them."""
    promised = count_of(int(order["directory_limit"]), "directory")
    if not order.get("job_id"):
        if order["status"] == "paid":
            return [
                f"Your package promises {promised}.",
                "We start submitting once you have filled in your business details.",
            ]
        state = ORDER_STATES.get(str(order["status"]))
        return [f"Your package promises {promised}.", *([state.meaning] if state else [])]

    total, done = int(order["directories"] or 0), int(order["directories_done"] or 0)
    held = f"Your job holds {count_of(total, 'directory')}"
    processed = (
        f"{held}, all processed."
        if total and done == total
        else (f"{held}: {done} processed so far.")
    )
    reversed_payment = (
        [ORDER_STATES[str(order["status"])].meaning] if str(order["status"]) in REVERSED else []
    )
    if promise is None:
        # A job always has a promise (public.package_promise); this only keeps the page up.
        return [f"Your package promised {promised}.", processed, *reversed_payment]
    first, *rest = promise.sentences(str(order["job_status"]))
    if reversed_payment:
        # The whole payment went back (or is contested): the promise's own refund of a
        # shortfall would tell a different story, so the order's state is the last word.
        return [first, processed, *reversed_payment]
    return [first, processed, *rest]
