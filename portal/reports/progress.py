"""A job's progress as the customer sees it: words for each state, counts, the share done and
an estimate of when it completes.

The estimate is the pace so far: directories finished divided by the time since work on the
job first started (pauses and waits for a free worker included, so it errs on the late side),
applied to the directories left. There is none before the first directory finishes, nor
while the job waits in the queue or is paused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dbolt.words import about_duration, count_of, duration

# The customer's words for why a directory did not take the business are defined once, in
# dbolt (the webhook's emails say them too); re-exported for the templates and reports.


@dataclass(frozen=True)
class StateWords:
    label: str
    # ok / warn / bad / neutral: the badge colour (portal.css .status-*); never the only cue.
    tone: str
    meaning: str


DIRECTORY_STATES: dict[str, StateWords] = {
    "queued": StateWords("Queued", "neutral", "Waiting its turn."),
    "in_progress": StateWords(
        "Submitting", "neutral", "We are filling in this directory's form now."
    ),
    "submitted": StateWords("Submitted", "ok", "The directory confirmed your submission."),
    "live": StateWords("Live", "ok", "Your listing is confirmed live."),
    "already_listed": StateWords(
        "Already listed",
        "ok",
        "The directory already listed your business with your details: nothing to submit.",
    ),
    "live_mismatch": StateWords(
        "Live, details wrong", "warn", "Your listing is up but shows some of your details wrong."
    ),
    "not_live": StateWords(
        "Not live", "bad", "The directory never showed your listing, however often we checked."
    ),
    "needs_action": StateWords(
        "Needs your action", "warn", "The directory needs something from you before it lists you."
    ),
    "needs_review": StateWords(
        "Being checked",
        "warn",
        "We sent your details but the site showed no confirmation; our team is checking it.",
    ),
    "failed": StateWords("Not submitted", "bad", "We could not submit to this directory."),
    "skipped": StateWords(
        "Skipped", "neutral", "This directory does not take your kind of business."
    ),
    "waiting": StateWords(
        "Waiting for the site",
        "neutral",
        "We are waiting for this directory's confirmation email or its review; we carry on"
        " by ourselves when it comes.",
    ),
}
# Display order of the counts: the good news first, then what needs attention.
COUNT_ORDER = (
    "submitted",
    "live",
    "already_listed",
    "live_mismatch",
    "needs_action",
    "needs_review",
    "failed",
    "not_live",
    "skipped",
    "waiting",
    "in_progress",
    "queued",
)
UNFINISHED = frozenset({"queued", "in_progress", "waiting"})

JOB_STATES: dict[str, StateWords] = {
    "pending": StateWords(
        "Waiting in the queue", "neutral", "Your job is waiting for a free worker."
    ),
    "in_progress": StateWords("In progress", "neutral", "We are submitting your business now."),
    "paused": StateWords(
        "Paused", "warn", "Our team paused your job; it will carry on where it stopped."
    ),
    "waiting": StateWords(
        "Waiting for directories",
        "neutral",
        "What is left waits for directories' confirmation emails or reviews; we carry on by"
        " ourselves when they come.",
    ),
    "complete": StateWords("Complete", "ok", "Every directory has been processed."),
    "failed": StateWords(
        "Stopped",
        "bad",
        "Your job stopped after repeated interruptions; our team has been alerted.",
    ),
    "cancelled": StateWords("Cancelled", "bad", "This job was cancelled."),
}
FINAL_JOB_STATES = frozenset({"complete", "failed", "cancelled"})
# How a reason staff gave (jobs.staff_reason) is introduced on the customer's job page.
STAFF_REASON_PREFIX = {"paused": "Paused by our team: ", "cancelled": "Cancelled by our team: "}


def state_words(status: str) -> StateWords:
    return DIRECTORY_STATES.get(
        status, StateWords(status.replace("_", " ").capitalize(), "neutral", "")
    )


def job_state_words(status: str) -> StateWords:
    return JOB_STATES.get(status, StateWords(status.replace("_", " ").capitalize(), "neutral", ""))


def as_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def format_time(moment: datetime | None) -> str:
    """`29 Nov 2026, 14:05 UTC`, or an empty string."""
    moment = as_utc(moment)
    return "" if moment is None else moment.strftime("%-d %b %Y, %H:%M UTC")


@dataclass(frozen=True)
class Estimate:
    """When the job should finish, and (always) a sentence saying how that was worked out."""

    completes_at: datetime | None
    text: str
    basis: str


def estimate_completion(
    status: str, started_at: datetime | None, total: int, done: int, now: datetime
) -> Estimate:
    remaining = max(0, total - done)
    if status == "complete":
        return Estimate(None, "Finished.", "")
    if status in ("failed", "cancelled"):
        return Estimate(None, "No estimate: the job has stopped.", "")
    if status == "paused":
        return Estimate(None, "No estimate while the job is paused.", "")
    if status == "waiting":
        return Estimate(
            None,
            "When the directories answer: what is left waits for their emails or reviews.",
            "",
        )
    if status == "pending" or started_at is None:
        return Estimate(
            None,
            "Not yet: your job is waiting for a free worker.",
            "The estimate appears once the first directory is finished.",
        )
    if remaining == 0:
        return Estimate(None, "Any moment now.", "Every directory has been processed.")
    elapsed = (now - started_at).total_seconds()
    if done == 0 or elapsed <= 0:
        return Estimate(
            None,
            "Working on it.",
            "The estimate appears once the first directory is finished.",
        )
    seconds_left = remaining * elapsed / done
    completes_at = now + timedelta(seconds=seconds_left)
    left = about_duration(seconds_left)
    return Estimate(
        completes_at,
        f"{left[0].upper()}{left[1:]} left (around {format_time(completes_at)}).",
        f"Estimated from the pace so far: {done} of {count_of(total, 'directory')} done since "
        f"work started {duration(elapsed)} ago, so the {count_of(remaining, 'directory')} left "
        "should go at the same pace.",
    )


@dataclass(frozen=True)
class JobProgress:
    job: Mapping[str, Any]
    directories: Sequence[Mapping[str, Any]]
    counts: dict[str, int]
    total: int
    done: int
    percent: int
    estimate: Estimate

    @property
    def status(self) -> str:
        return str(self.job["status"])

    @property
    def words(self) -> StateWords:
        words = job_state_words(self.status)
        reason = self.job.get("staff_reason")
        if reason and self.status in STAFF_REASON_PREFIX:
            # Staff said why they paused or cancelled it: the customer reads that, in full.
            said = f"{STAFF_REASON_PREFIX[self.status]}{reason}"
            return StateWords(words.label, words.tone, said)
        return words

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_JOB_STATES

    @property
    def needs_action(self) -> list[Mapping[str, Any]]:
        return [d for d in self.directories if d["status"] == "needs_action"]

    @property
    def count_items(self) -> list[tuple[str, StateWords, int]]:
        """(status, words, count) in display order, zero counts left out."""
        return [
            (status, state_words(status), self.counts[status])
            for status in COUNT_ORDER
            if self.counts.get(status)
        ]

    @property
    def progress_text(self) -> str:
        return f"{self.done} of {count_of(self.total, 'directory')} processed ({self.percent}%)"


def build_progress(
    job: Mapping[str, Any], directories: Sequence[Mapping[str, Any]], now: datetime | None = None
) -> JobProgress:
    now = now or datetime.now(UTC)
    counts: dict[str, int] = {}
    for row in directories:
        counts[str(row["status"])] = counts.get(str(row["status"]), 0) + 1
    total = len(directories)
    done = sum(n for status, n in counts.items() if status not in UNFINISHED)
    # Floor, so 100% means every directory really is done.
    percent = (done * 100) // total if total else 0
    return JobProgress(
        job=job,
        directories=directories,
        counts=counts,
        total=total,
        done=done,
        percent=percent,
        estimate=estimate_completion(str(job["status"]), job.get("started_at"), total, done, now),
    )
