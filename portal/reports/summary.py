"""The completion report: the numbers jobs_complete froze in job_reports.summary, the listing
URLs and key events frozen beside them in job_reports.details, and every directory's current
row (job_directories) — one object that the report page, the CSV and the PDF all print, so
the three always agree with each other and with the database.

The summary is never recomputed here: a report says what the database recorded at completion.
The directory rows are read as they are now, which after completion only differs where staff
confirmed a submitted listing live (submitted → live, both counted as successes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from dbolt.package_promise import Promise
from dbolt.refusals import error_reason
from dbolt.words import duration
from portal.reports.progress import format_time, state_words


@dataclass(frozen=True)
class SummaryLine:
    key: str
    label: str
    value: int | str


@dataclass(frozen=True)
class KeyEvent:
    at: datetime | None
    text: str
    by: str


@dataclass(frozen=True)
class ReportView:
    job: Mapping[str, Any]
    summary: Mapping[str, Any]
    details: Mapping[str, Any]
    created_at: datetime
    directories: Sequence[Mapping[str, Any]]
    # The accounts we opened on directories for the customer (portal.directory_accounts):
    # directory, site, login and date only; passwords are revealed on the job page, never here.
    accounts: Sequence[Mapping[str, Any]] = ()

    def count(self, key: str) -> int:
        return int(self.summary.get(key) or 0)

    def by_status(self, status: str) -> int:
        by_status = self.summary.get("by_status") or {}
        return int(by_status.get(status) or 0)

    @property
    def seconds_to_complete(self) -> int | None:
        value = self.summary.get("seconds_to_complete")
        return None if value is None else int(value)

    @property
    def time_to_complete(self) -> str:
        seconds = self.seconds_to_complete
        return "" if seconds is None else duration(seconds)

    @property
    def lines(self) -> list[SummaryLine]:
        """The headline numbers, in the order the report and the CSV show them."""
        return [
            SummaryLine("directories", "Directories in your package", self.count("directories")),
            SummaryLine("successes", "Submitted successfully", self.count("successes")),
            SummaryLine("needs_action", "Need your action", self.by_status("needs_action")),
            SummaryLine(
                "needs_review", "Being checked by our team", self.by_status("needs_review")
            ),
            SummaryLine("failures", "Could not be submitted", self.count("failures")),
            SummaryLine("skipped", "Skipped", self.by_status("skipped")),
            SummaryLine("attempts", "Submission attempts", self.count("attempts")),
            SummaryLine("retries", "Retries", self.count("retries")),
        ]

    @property
    def promise(self) -> Promise | None:
        """What the job delivered against its package (read with the job, portal/jobs/reads)."""
        promise = self.job.get("promise")
        return promise if isinstance(promise, Promise) else None

    @property
    def promise_lines(self) -> list[SummaryLine]:
        """The package's numbers, in the order the report and the CSV show them."""
        promise = self.promise
        if promise is None:
            return []
        return [
            SummaryLine("promised", "Directories your package promised", promise.promised),
            SummaryLine("delivered", "Delivered (listed, submitted or live)", promise.delivered),
            SummaryLine("in_hand", "Sent, waiting for a check or for you", promise.in_hand),
            SummaryLine("replaced", "Replaced by another directory", promise.replaced),
            SummaryLine("shortfall", "Not delivered", promise.shortfall),
            SummaryLine("refund", "Refunded for what was not delivered", promise.refund or ""),
            SummaryLine("refund_status", "Refund", promise.refund_state),
        ]

    @property
    def listings(self) -> list[Mapping[str, Any]]:
        listings = self.details.get("listings")
        if isinstance(listings, list):
            return [
                {**listing, "submitted_at": _timestamp(listing.get("submitted_at"))}
                for listing in listings
                if isinstance(listing, Mapping)
            ]
        # A report frozen before details existed: the listing URLs as they are now.
        return [
            {
                "directory_id": row["directory_id"],
                "directory": row["directory"],
                "status": row["status"],
                "listing_url": row["listing_url"],
                "submitted_at": row["submitted_at"],
            }
            for row in self.directories
            if row.get("listing_url")
        ]

    def listing_url(self, row: Mapping[str, Any]) -> str | None:
        """A directory's listing address: its row's (staff may confirm one after completion),
        else the one frozen in the report. Printed as a link only if http(s) (reports/links)."""
        if row.get("listing_url"):
            return str(row["listing_url"])
        return self._frozen_listing_urls.get(str(row.get("directory_id")))

    @cached_property
    def _frozen_listing_urls(self) -> dict[str, str]:
        return {
            str(listing.get("directory_id")): str(listing["listing_url"])
            for listing in self.listings
            if listing.get("listing_url")
        }

    @property
    def key_events(self) -> list[KeyEvent]:
        events = self.details.get("key_events")
        if not isinstance(events, list):
            return []
        described: list[KeyEvent] = []
        claims = 0
        for event in events:
            if not isinstance(event, Mapping):
                continue
            if event.get("action") == "job.claimed":
                claims += 1
            text = describe_event(event, first_claim=claims == 1)
            if text:
                described.append(
                    KeyEvent(_timestamp(event.get("at")), text, str(event.get("by", "")))
                )
        return described

    @property
    def needs_action(self) -> list[Mapping[str, Any]]:
        return [d for d in self.directories if d["status"] == "needs_action"]

    @property
    def completed_at(self) -> datetime | None:
        return _timestamp(self.summary.get("completed_at")) or self.job.get("completed_at")

    @property
    def started_at(self) -> datetime | None:
        return _timestamp(self.summary.get("started_at")) or self.job.get("started_at")


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def describe_event(event: Mapping[str, Any], *, first_claim: bool = True) -> str:
    """One key event in words for the customer ('' for one they need not see)."""
    action = event.get("action")
    directory = event.get("directory") or event.get("directory_id") or "A directory"
    to_status = event.get("to_status")
    if action == "job.enqueued":
        return "Your business details were saved and your job joined the queue."
    if action == "job.claimed":
        return "Submissions started." if first_claim else "Submissions picked up again."
    if action == "job.released":
        return (
            "Submissions stopped for a moment (a worker restarted); the job went back to the queue."
        )
    if action == "job.lease_expired":
        if to_status == "failed":
            return "The job stopped after repeated interruptions; our team was alerted."
        return "A worker stopped responding; the job went back to the queue by itself."
    if action == "job.paused":
        return "Our team paused the job."
    if action == "job.resumed":
        return "Our team resumed the job."
    if action == "job.retried":
        return "Our team retried the directories that had not been submitted."
    if action == "job.cancelled":
        return "The job was cancelled."
    if action == "job.completed":
        return "Every directory was processed: the job is complete."
    if action == "directory.attempt_reported":
        if to_status == "needs_action":
            return f"{directory} needs your action."
        if to_status == "needs_review":
            return f"{directory}: no confirmation was shown; our team is checking the submission."
        if to_status == "failed":
            reason = error_reason(event.get("error_code"))
            return f"{directory} could not be submitted" + (f": {reason}." if reason else ".")
        return ""
    if action == "directory.retried":
        return f"{directory} was retried by our team."
    if action == "directory.live":
        return f"{directory}: your listing was confirmed live."
    return ""


def build_report(
    job: Mapping[str, Any],
    report: Mapping[str, Any],
    directories: Sequence[Mapping[str, Any]],
    accounts: Sequence[Mapping[str, Any]] = (),
) -> ReportView:
    return ReportView(
        job=job,
        summary=report.get("summary") or {},
        details=report.get("details") or {},
        created_at=report["created_at"],
        directories=directories,
        accounts=accounts,
    )


def directory_outcome(row: Mapping[str, Any]) -> str:
    """What happened to one directory, in words (the report table and the CSV's outcome)."""
    status = str(row["status"])
    reason = row.get("reason") or error_reason(row.get("last_error_code"))
    if status == "failed":
        outcome = "Not submitted" + (f": {reason}" if reason else "")
        return f"{outcome}. {row['fate']}" if row.get("fate") else outcome
    if status == "skipped" and (reason or row.get("fate")):
        return (
            "Skipped: "
            + ". ".join(str(part).rstrip(".") for part in (reason, row.get("fate")) if part)
            + "."
        )
    if status == "needs_action":
        return f"Needs your action: {row.get('action_required') or ''}".rstrip(": ")
    return state_words(status).label


__all__ = [
    "KeyEvent",
    "ReportView",
    "SummaryLine",
    "build_report",
    "describe_event",
    "directory_outcome",
    "format_time",
]
