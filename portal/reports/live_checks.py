"""Live checks as the customer reads them: each listing's last check in a sentence ("Checked
live on 4 Dec", "Live, but the phone number shown is wrong", "Not found yet — we check again
on 11 Dec", "Not live") and the business's NAP consistency ("Your details match on 9 of 10
listings"). The job page, the report and its CSV print these; staff read the raw checks on
their drill-down (portal/staff/jobs.py).

Rows come from public.listing_checks (migration 20261206000500) through the columns a
customer may read; the directory's status decides "Not live" (the database's verdict after
the last check), never a guess from the checks here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbolt.words import count_of, noun_for
from portal.reports.progress import as_utc

# How a mismatched field is named to the customer.
FIELD_WORDS = {"name": "business name", "address": "address", "phone": "phone number"}


def short_date(moment: datetime | None) -> str:
    """`4 Dec` (UTC), or an empty string."""
    moment = as_utc(moment)
    return "" if moment is None else moment.strftime("%-d %b")


def _fields(fields: Sequence[str]) -> str:
    named = [FIELD_WORDS.get(f, f) for f in fields]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


@dataclass(frozen=True)
class LastCheck:
    """A listing's latest check, the next one due (if any), and the sentence for both."""

    result: str | None
    checked_at: datetime | None
    next_at: datetime | None
    nap_score: float | None
    mismatched_fields: tuple[str, ...]
    text: str
    # ok / warn / bad / neutral, as the status badges (never the only cue).
    tone: str


def _sentence(
    status: str, last: Mapping[str, Any] | None, next_at: datetime | None
) -> tuple[str, str]:
    again = f" — we check again on {short_date(next_at)}" if next_at else ""
    if status == "not_live":
        return "Not live: the directory never showed your listing.", "bad"
    if last is None:
        return (f"First check on {short_date(next_at)}." if next_at else ""), "neutral"
    result, on = last["result"], short_date(last["checked_at"])
    if result == "live":
        return f"Checked live on {on}.", "ok"
    if result == "live_mismatch":
        fields = list(last.get("mismatched_fields") or [])
        verb = noun_for(len(fields), "is", "are")
        return f"Live, but the {_fields(fields)} shown {verb} wrong (checked {on}).", "warn"
    if result == "not_found":
        return f"Not found yet{again}.", "neutral"
    return f"We could not check it on {on}{again}.", "neutral"


def last_checks(
    checks: Sequence[Mapping[str, Any]], statuses: Mapping[str, str]
) -> dict[str, LastCheck]:
    """Per directory id: its last check (`checks` in any order; rows of listing_checks)."""
    by_directory: dict[str, list[Mapping[str, Any]]] = {}
    for row in checks:
        by_directory.setdefault(str(row["directory_id"]), []).append(row)
    found: dict[str, LastCheck] = {}
    for directory_id, rows in by_directory.items():
        done = sorted((r for r in rows if r.get("checked_at")), key=lambda r: r["seq"])
        waiting = sorted((r for r in rows if not r.get("checked_at")), key=lambda r: r["seq"])
        last = done[-1] if done else None
        next_at = waiting[0]["due_at"] if waiting else None
        status = statuses.get(directory_id, "")
        text, tone = _sentence(status, last, next_at)
        score = last.get("nap_score") if last else None
        found[directory_id] = LastCheck(
            result=last["result"] if last else None,
            checked_at=last["checked_at"] if last else None,
            next_at=next_at,
            nap_score=None if score is None else float(score),
            mismatched_fields=tuple(last.get("mismatched_fields") or ()) if last else (),
            text=text,
            tone=tone,
        )
    return found


@dataclass(frozen=True)
class NapConsistency:
    """Over the listings found live: how many show the business's details right, and the
    mean NAP match score of their last checks (0 to 1)."""

    matching: int
    found: int
    score: float

    @property
    def percent(self) -> int:
        return round(self.score * 100)

    @property
    def text(self) -> str:
        return (
            f"Your details match on {self.matching} of {count_of(self.found, 'listing')} "
            f"(name, address and phone consistency {self.percent}%)."
        )


def nap_consistency(checks: Mapping[str, LastCheck]) -> NapConsistency | None:
    """None until a listing has been found live."""
    found = [c for c in checks.values() if c.result in ("live", "live_mismatch")]
    if not found:
        return None
    scores = [c.nap_score if c.nap_score is not None else 0.0 for c in found]
    matching = sum(1 for c in found if c.result == "live")
    return NapConsistency(matching, len(found), round(sum(scores) / len(scores), 3))


def with_live_checks(
    job: dict[str, Any], directories: list[dict[str, Any]], checks: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The job with its `nap` (NapConsistency or None) and each directory with its
    `live_check` (LastCheck or None), as the job page, the report and the CSV read them."""
    last = last_checks(checks, {str(d["directory_id"]): str(d["status"]) for d in directories})
    rows = [{**d, "live_check": last.get(str(d["directory_id"]))} for d in directories]
    return {**job, "nap": nap_consistency(last)}, rows
