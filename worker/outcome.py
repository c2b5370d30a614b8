"""What happened on a directory's site, in the terms the queue records (docs/recipes.md).

Success is never assumed: only a confirmation seen on the page makes a confirmed success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from dbolt.contracts import Outcome, Phase, WaitKind
from worker.customer_action import ActionKind, as_sentences, kind_of, staff_note


@dataclass
class AttemptResult:
    """What the site answered, gathered during the attempt. Its fields (but `filled`) are
    those of dbolt.contracts.AttemptReport, so the report is built from them by name."""

    outcome: Outcome
    confirmed: bool = False
    error_code: str | None = None
    message: str | None = None
    listing_url: str | None = None
    action_required: str | None = None
    captcha_kind: str | None = None
    captcha_solved: bool | None = None
    proxy: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    # Outcome parked only (worker/phases.py): what it waits for, how long, where it resumes.
    wait_kind: WaitKind | None = None
    wait_seconds: int | None = None
    resume_phase: Phase | None = None
    filled: list[tuple[str, str]] = field(default_factory=list)
    # What the site asked the customer to do, recognised from its words; the engine turns it
    # into our own fixed words (action_required, worker/customer_action.py).
    action_kind: ActionKind | None = None
    # The fields (name, address, phone) a listing found by the lookup shows differently.
    differing: list[str] = field(default_factory=list)

    @property
    def transient(self) -> bool:
        return self.outcome is Outcome.transient_error

    def reported(self) -> dict[str, Any]:
        """This result's fields of the attempt report: all but the worker's own log of what
        it filled in and the kind of action (already in action_required's words)."""
        own = ("filled", "action_kind", "differing")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in own}


class AttemptFailed(Exception):
    """Raised inside an attempt to end it with a classified result."""

    def __init__(self, outcome: Outcome, error_code: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.error_code = error_code
        self.message = message


def transient(code: str, message: str) -> AttemptFailed:
    return AttemptFailed(Outcome.transient_error, code, message)


def permanent(code: str, message: str) -> AttemptFailed:
    return AttemptFailed(Outcome.permanent_error, code, message)


def from_status(status: int, url: str) -> AttemptFailed | None:
    """The failure an HTTP status means for a page the worker navigated to, if any."""
    if status == 429:
        return transient("rate_limited", f"{url} answered 429 Too Many Requests")
    if status == 407:
        return transient("proxy_error", "the proxy refused our credentials (407)")
    if status == 404 or status == 410:
        return permanent("form_gone", f"{url} answered {status}: the submission form is gone")
    if status == 503:
        return transient("site_unavailable", f"{url} answered 503: temporarily unavailable")
    if status in (502, 504):
        # The gateway in front of the site gave up, not the site: after the submit fence the
        # form may have arrived, so the queue holds the directory for review (not a retry).
        return transient(
            "site_gateway_error", f"{url} answered {status}: the site's gateway failed"
        )
    if status >= 500:
        return permanent("site_down", f"{url} answered {status}")
    return None


# Wording real directories use; auto mode relies on it, recipes may name selectors instead.
_SUCCESS = re.compile(
    r"thank you|thanks for|has been (submitted|received|added|created)"
    r"|successfully (submitted|added|created)"
    r"|listing (is live|has been|was) (created|added|submitted|published)"
    r"|submission (received|complete)",
    re.I,
)
_DUPLICATE = re.compile(
    r"already (listed|exists|registered|in our directory)|duplicate listing", re.I
)
_VERIFICATION = re.compile(
    r"verif(y|ication) (your )?(email|e-mail|phone)|check your (email|inbox)"
    r"|confirmation (code|link)"
    r"|we (sent|have sent|emailed) (you )?(a|an) (verification|confirmation)",
    re.I,
)
_RATE_LIMIT = re.compile(r"too many requests|rate limit", re.I)
_CAPTCHA_FAILED = re.compile(
    r"captcha (answer )?(was )?(wrong|incorrect|failed|invalid)|captcha verification failed", re.I
)


def classify_text(text: str) -> AttemptResult | AttemptFailed:
    """Classify a result page by its visible text (auto mode, or a recipe without selectors).
    `text` is the page's innerText: its headings and paragraphs are read as sentences."""
    text = as_sentences(text)
    if _DUPLICATE.search(text):
        return permanent("duplicate_listing", "the directory says the business is already listed")
    if _CAPTCHA_FAILED.search(text):
        return transient("captcha_unsolved", "the site rejected the captcha answer")
    if _RATE_LIMIT.search(text):
        return transient("rate_limited", "the site says we sent too many requests")
    if _VERIFICATION.search(text):
        # The site's sentence is for staff; the customer reads our words for its kind.
        # Staff read from that sentence on (what follows may be the rest of the instruction).
        asked = _sentence(text, _VERIFICATION) or text
        return AttemptResult(
            Outcome.needs_action,
            action_kind=kind_of(asked),
            message=staff_note(text[max(text.find(asked), 0) :]),
        )
    if _SUCCESS.search(text):
        return AttemptResult(Outcome.success, confirmed=True)
    return AttemptResult(
        Outcome.success, confirmed=False, message="submitted, but the site showed no confirmation"
    )


def _sentence(text: str, pattern: re.Pattern[str]) -> str | None:
    """The sentence around the match: what the directory asked, for staff."""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if pattern.search(sentence):
            return sentence[:500]
    return None
