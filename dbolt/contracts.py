"""The wire contract between workers, staff tools and the orchestrator.

Both sides import these models, so a field renamed on one side cannot silently go missing
on the other. Requests forbid unknown fields: a typo is a 422 naming the field, not data
quietly dropped.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, field_validator

from dbolt.business import Business

WorkerId = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$")
]
DirectoryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{1,62}$")]
ShortText = Annotated[str, StringConstraints(max_length=2000)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9_.-]+$")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Outcome(StrEnum):
    """What the worker saw on the directory's site."""

    success = "success"
    needs_action = "needs_action"
    transient_error = "transient_error"
    permanent_error = "permanent_error"
    skipped = "skipped"
    # The lifecycle (docs/recipes.md, phases): stopped between phases to wait for the
    # directory's email or its moderation, the browser session saved (`wait_kind`,
    # `wait_seconds`, `resume_phase` say how long and where to resume); or the lookup found
    # the business listed already with the same name, address and phone (`listing_url`).
    parked = "parked"
    already_listed = "already_listed"


class DirectoryStatus(StrEnum):
    queued = "queued"
    in_progress = "in_progress"
    submitted = "submitted"
    needs_review = "needs_review"
    needs_action = "needs_action"
    failed = "failed"
    skipped = "skipped"
    live = "live"
    # Issue 14, the real lifecycle: parked until an email or a due time (`waiting`); found
    # listed by the lookup (delivered, no submission); checked later with the name, address
    # or phone wrong (`live_mismatch`) or never found (`not_live`, counts against the package).
    waiting = "waiting"
    already_listed = "already_listed"
    live_mismatch = "live_mismatch"
    not_live = "not_live"


class JobStatus(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    # Every directory left is parked (an email, a moderation delay): no lease is held until
    # the earliest due time or a directory's email arrives, then the job is pending again.
    waiting = "waiting"
    paused = "paused"
    complete = "complete"
    failed = "failed"
    cancelled = "cancelled"


class Phase(StrEnum):
    """The phases of a directory's recipe (docs/recipes.md), in the order they run."""

    lookup = "lookup"
    signup = "signup"
    verify_email = "verify_email"
    login = "login"
    submit = "submit"
    claim = "claim"
    confirm = "confirm"
    live_check = "live_check"


class WaitKind(StrEnum):
    """What a parked directory waits for: the directory's email to the campaign mailbox
    (woken by its arrival, or timed out), or a due time (a moderation delay)."""

    email = "email"
    moderation = "moderation"


# Worker → orchestrator ---------------------------------------------------------------------


class ClaimRequest(Request):
    worker_id: WorkerId


class LeaseRequest(Request):
    lease_token: uuid.UUID


class ReleaseRequest(LeaseRequest):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class SubmitFence(LeaseRequest):
    """The `submitting` fence: this attempt's final submit is about to be sent. Refused
    (409) when the lease is lost or the directory moved on: the worker must not submit."""

    attempt: int = Field(ge=1, le=100)


class AttemptReport(Request):
    """One submission attempt, reported right after it ended.

    The one definition of a report's fields: each one but the lease token is a job_results
    column of the same name, and `record()` is what jobs_report_attempt reads as that row."""

    lease_token: uuid.UUID
    directory_id: DirectoryId
    attempt: int = Field(ge=1, le=100)
    outcome: Outcome
    confirmed: bool = False
    error_code: Code | None = None
    message: ShortText | None = None
    listing_url: HttpUrl | None = None
    action_required: ShortText | None = None
    duration_ms: int | None = Field(default=None, ge=0, le=24 * 3600 * 1000)
    captcha_kind: Code | None = None
    captcha_solved: bool | None = None
    proxy: Annotated[str, StringConstraints(max_length=200)] | None = None
    artifacts: dict[Code, Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=dict, max_length=20
    )
    # Only with outcome `parked`: what it waits for, at most how long, and the phase to
    # resume at (the browser session is saved first, with SessionSave).
    wait_kind: WaitKind | None = None
    wait_seconds: int | None = Field(default=None, ge=0, le=30 * 24 * 3600)
    resume_phase: Phase | None = None

    def record(self) -> str:
        """The attempt as JSON text for jobs_report_attempt's `report` (`::jsonb`): every
        field but the lease token, which proves the right to report and is passed on its own.
        Text from pydantic's serialiser, rather than a dict the driver serialises again."""
        return self.model_dump_json(exclude={"lease_token"})


# A browser session (Playwright's storage_state: cookies and origins' localStorage). It holds
# a directory account's session cookies, so it is stored encrypted (dbolt/vault.py) and
# never logged.
StorageState = dict[str, Any]
STORAGE_STATE_MAX_BYTES = 256 * 1024


class SessionSave(LeaseRequest):
    """A parked directory's browser session, saved before the `parked` report so the next
    worker resumes signed in where this one stopped."""

    storage_state: StorageState


class AccountRequest(LeaseRequest):
    """Open (or reuse) the customer's account on a directory, under the job's lease."""


class DirectoryAccount(BaseModel):
    """A directory account's login, handed to the worker over the orchestrator's TLS only.

    One per (customer, directory), reused on reorders; the password is generated by the
    orchestrator and kept encrypted in the vault (`directory_accounts`)."""

    login: str
    password: str = Field(repr=False)
    site_url: str
    created: bool


# Orchestrator → worker ---------------------------------------------------------------------


class InboundMail(BaseModel):
    """A directory's email to the campaign mailbox, matched to the directory waiting for it."""

    id: int
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    received_at: datetime


class Resume(BaseModel):
    """Where a parked directory resumes: its phase, its saved browser session, and the
    email that woke it (None for a moderation delay)."""

    phase: Phase
    storage_state: StorageState | None = None
    mail: InboundMail | None = None


class DirectoryTask(BaseModel):
    directory_id: str
    name: str
    position: int
    status: DirectoryStatus
    attempts: int
    max_attempts: int
    homepage: str
    submit_url: str | None
    captcha_kind: str
    requirements: list[str]
    proxy_required: bool
    mode: str
    recipe: dict[str, Any] | None
    # What the directory accepts (directories.json; empty = anything): checked before a
    # browser starts (worker/eligibility.py), and the site's own category options.
    countries: list[str] = Field(default_factory=list)
    phone_countries: list[str] = Field(default_factory=list)
    category_map: dict[str, str] = Field(default_factory=dict)
    # Set for a directory that was parked and is due again (docs/recipes.md, phases).
    resume: Resume | None = None


# A logo the portal serves at {PORTAL_URL}/logos/<id>.<ext> (customer_logos; at most 1 MiB).
LOGO_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(png|jpg|webp)"
)
LOGO_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
LOGO_MAX_BYTES = 1024 * 1024


def logo_id_of(url: object) -> str | None:
    """The logo id in a stored logo URL (`…/logos/<id>.<ext>`), or None if it names none.

    Only the id is ours: the URL's origin was passed to customers_save_logo by its caller,
    which a customer can be, so it is never used to decide where a worker connects."""
    if not isinstance(url, str):
        return None
    path = urlsplit(url).path
    name = path.removeprefix("/logos/")
    return name if path.startswith("/logos/") and LOGO_ID.fullmatch(name) else None


class Assignment(BaseModel):
    """A claimed job: everything a worker needs, and the lease that proves it holds it."""

    job_id: uuid.UUID
    tier: str
    lease_token: uuid.UUID
    lease_expires_at: datetime
    # The job's snapshot, with the logo as `logo_id` (never a URL): the worker fetches it
    # from its own PORTAL_URL (worker/logo.py).
    business: Business
    directories_total: int
    directories: list[DirectoryTask]
    # The customer's campaign mailbox (customer_mailboxes.local_part @ MAILBOX_DOMAIN): the
    # address every directory account of theirs is opened with.
    mailbox: str | None = None

    @field_validator("business", mode="before")
    @classmethod
    def _logo_by_id(cls, business: object) -> object:
        # Runs where the snapshot is handed out (the orchestrator) and again where it is read
        # (the worker); a Business built here already names its logo by id.
        return business_with_logo_id(business) if isinstance(business, dict) else business


def business_with_logo_id(business: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with its logo URL replaced by the logo's id; any other logo is dropped."""
    business = dict(business)
    stored_url = business.pop("logo_url", None)
    logo_id = business.pop("logo_id", None) or logo_id_of(stored_url)
    if isinstance(logo_id, str) and LOGO_ID.fullmatch(logo_id):
        business["logo_id"] = logo_id
    return business


class LeaseExtended(BaseModel):
    lease_expires_at: datetime


class DirectoryState(BaseModel):
    directory_id: str
    status: DirectoryStatus
    attempts: int
    max_attempts: int


class JobState(BaseModel):
    job_id: uuid.UUID
    status: JobStatus


# Staff -------------------------------------------------------------------------------------


class RetryRequest(Request):
    job_id: uuid.UUID
    directory_ids: list[DirectoryId] | None = Field(default=None, min_length=1, max_length=500)


# Why staff paused or cancelled a job: the customer reads it on the job page.
StaffReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class StaffReasonRequest(Request):
    reason: StaffReason


class RetryResult(BaseModel):
    job_id: uuid.UUID
    retried: int


class JobListItem(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    customer_id: uuid.UUID
    customer_email: str
    business_name: str | None
    tier: str
    status: JobStatus
    worker_id: str | None
    lost_leases: int
    directories: int
    directories_done: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class JobPage(BaseModel):
    items: list[JobListItem]
    # Exact, from the jobs counters, when nothing but the status is filtered; null otherwise
    # (counting every match of a year's jobs per page is what the keyset paging avoids).
    total: int | None
    limit: int
    offset: int
    # The next page, older than the last item: pass it back as `before` (null: no more).
    older: str | None = None


class JobDetail(BaseModel):
    job: dict[str, Any]
    directories: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    audit: list[dict[str, Any]]


# Staff: the review queue (a directory needing review or action, settled by staff) ---------
ListingUrl = Annotated[HttpUrl, Field(description="The listing on the directory (http or https)")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ConfirmLiveRequest(Request):
    listing_url: ListingUrl


class MarkSubmittedRequest(Request):
    listing_url: ListingUrl | None = None


class MarkFailedRequest(Request):
    reason: Reason = Field(description="Why it failed: kept for staff, never shown to customers")


# Live checks (worker ↔ orchestrator): a listing opened again later and compared ----------


class LiveCheckClaim(Request):
    worker_id: WorkerId
    limit: int = Field(default=10, ge=1, le=100)


class LiveCheckTask(BaseModel):
    """One due check of one listing, leased to a worker."""

    check_id: int
    lease_token: uuid.UUID
    job_id: uuid.UUID
    directory_id: str
    listing_url: str
    # The directory's recipe `live_check` phase, if any (selectors for name, address and
    # phone); without it the page's text is compared.
    recipe: dict[str, Any] | None = None
    business: Business
    seq: int
    last: bool


class LiveCheckResult(StrEnum):
    live = "live"
    live_mismatch = "live_mismatch"
    not_found = "not_found"
    error = "error"


class LiveCheckReport(Request):
    lease_token: uuid.UUID
    result: LiveCheckResult
    nap_score: float | None = Field(default=None, ge=0, le=1)
    mismatched_fields: list[Code] = Field(default_factory=list, max_length=10)
    observed: dict[Code, ShortText] = Field(default_factory=dict, max_length=10)
    message: ShortText | None = None
    http_status: int | None = Field(default=None, ge=100, le=599)


class ErrorBody(BaseModel):
    error: str
    detail: str
