"""What a job delivered against its package, in the words every customer surface uses.

The numbers come from one SQL definition, `public.package_promise(job_id)` (migration
20261205000100): promised (the package's count), delivered (submitted, live, already listed
or live with a detail wrong: the listing exists; 20261206000510), in hand
(submitted but waiting on a check or on the customer), replaced, still working, the shortfall
and its refund. The job page, the completion email, the CSV and the PDF all print this
object, so they say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbolt.words import count_of, noun_for

# What counts as delivered, as private.package_counts says (20261206000510): the listing
# exists on the directory. not_live (never found by the live checks) does not.
DELIVERED = frozenset({"submitted", "live", "already_listed", "live_mismatch"})
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def format_amount(amount: int | None, currency: str | None) -> str | None:
    """`$74.50`, `$149`, `12.50 CHF`; None when there is no amount."""
    if amount is None or not currency:
        return None
    whole = f"{amount / 100:,.2f}".removesuffix(".00")
    symbol = _SYMBOLS.get(currency.lower())
    return f"{symbol}{whole}" if symbol else f"{whole} {currency.upper()}"


@dataclass(frozen=True)
class Promise:
    promised: int
    delivered: int
    in_hand: int
    replaced: int
    working: int
    shortfall: int
    refund_amount: int | None = None
    refund_currency: str | None = None
    refunded_amount: int | None = None
    refunded_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Promise:
        return cls(
            promised=int(row["promised"]),
            delivered=int(row["delivered"]),
            in_hand=int(row["in_hand"]),
            replaced=int(row["replaced"]),
            working=int(row["working"]),
            shortfall=int(row["shortfall"]),
            refund_amount=row.get("refund_amount"),
            refund_currency=row.get("refund_currency"),
            refunded_amount=row.get("refunded_amount"),
            refunded_at=row.get("refunded_at"),
        )

    @property
    def refund(self) -> str | None:
        """The refund for the shortfall, formatted, once one is owed (None before, or when
        the order cost nothing)."""
        if self.refunded_amount:
            return format_amount(self.refunded_amount, self.refund_currency)
        if self.refund_amount:
            return format_amount(self.refund_amount, self.refund_currency)
        return None

    @property
    def refund_state(self) -> str:
        """refunded / refunding / none."""
        if self.refunded_at is not None:
            return "refunded"
        return "refunding" if self.refund_amount else "none"

    def sentences(self, job_status: str) -> list[str]:
        """The promise in plain words, as the job page, email and report say it."""
        complete = job_status == "complete"
        said = [
            f"Your package promised {count_of(self.promised, 'directory')}: "
            f"{self.delivered} delivered{'' if complete else ' so far'}."
        ]
        if self.in_hand:
            said.append(
                f"{self.in_hand} more {noun_for(self.in_hand, 'directory')} "
                "sent, waiting for a check by our team or for you."
            )
        if self.replaced:
            said.append(
                f"{count_of(self.replaced, 'directory')} could not take your business; "
                f"{noun_for(self.replaced, 'it was', 'each was')} replaced by the next directory "
                "that could, while any were left."
            )
        if complete and self.shortfall:
            short = f"We could not deliver {count_of(self.shortfall, 'directory')}"
            if self.refund_state == "refunded":
                said.append(f"{short}: {self.refund} was refunded to your card.")
            elif self.refund_state == "refunding":
                said.append(f"{short}: {self.refund} is being refunded to your card.")
            else:
                said.append(f"{short}.")
        elif self.shortfall:
            said.append(
                f"{count_of(self.shortfall, 'directory')} short so far: whatever we cannot "
                "deliver is refunded pro rata when your job completes."
            )
        return said

    def fate(self, row: Mapping[str, Any], job_status: str) -> str | None:
        """For a directory that was not submitted: what became of it (None for one that was)."""
        status = str(row["status"])
        if status in DELIVERED:
            return None
        replaced_by = row.get("replaced_by_name") or row.get("replaced_by")
        if replaced_by:
            return f"Replaced by {replaced_by}."
        if status in ("queued", "in_progress"):
            return "Being retried." if int(row.get("attempts") or 0) else "Waiting its turn."
        if status == "needs_review":
            return "Being checked by our team."
        if status == "needs_action":
            return "Waiting for you."
        if job_status == "complete" and self.refund_state != "none":
            return "Refunded: part of the refund for directories we could not deliver."
        if job_status == "complete":
            return "Not delivered."
        return None
