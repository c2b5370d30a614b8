"""The staff jobs list's filters, a query model (`Annotated[JobFilters, Query()]`).

A bad value does not fail the request: the list is shown without that filter, the field's
error is in `errors` (the page answers 422 and marks the field), and every other filter
still applies. Values are checked as they were typed: blank means "any", text is trimmed
and at most 200 characters, dates are ISO (YYYY-MM-DD), `before` and `after` are cursors of
the Older/Newer links (dbolt/job_cursor.py; a garbled or forged one is named and dropped, so
the list starts again from the newest).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from dbolt import job_cursor
from dbolt.job_cursor import JobCursor

Status = Literal["pending", "in_progress", "waiting", "paused", "complete", "failed", "cancelled"]
Tier = Literal["starter", "growth", "professional", "enterprise"]
JOB_STATUSES: tuple[str, ...] = get_args(Status)
TIERS: tuple[str, ...] = get_args(Tier)
TEXT_MAX = 200


def _blank_is_any(value: Any) -> Any:
    return None if value == "" else value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return value.replace("\x00", "").strip() or None


def _iso_date(value: Any) -> Any:
    # date.fromisoformat, not pydantic's date parsing (which also takes unix timestamps).
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _cursor(field: str) -> Any:
    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return job_cursor.decode(value.strip(), field) if value.strip() else None

    return BeforeValidator(parse)


Text = Annotated[Annotated[str, Field(max_length=TEXT_MAX)] | None, BeforeValidator(_text)]
IsoDate = Annotated[date | None, BeforeValidator(_iso_date)]

# What the page says about a bad value, by query parameter, in the form's order.
MESSAGES = {
    "status": f"status must be one of: {', '.join(JOB_STATUSES)}",
    "tier": f"tier must be one of: {', '.join(TIERS)}",
    "customer": f"customer must be at most {TEXT_MAX} characters",
    "q": f"q must be at most {TEXT_MAX} characters",
    "from": "from must be a date (YYYY-MM-DD)",
    "to": "to must be a date (YYYY-MM-DD)",
    "before": "before is not a cursor from this list's Older/Newer links",
    "after": "after is not a cursor from this list's Older/Newer links",
}


class JobFilters(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    status: Annotated[Status | None, BeforeValidator(_blank_is_any)] = None
    tier: Annotated[Tier | None, BeforeValidator(_blank_is_any)] = None
    customer: Text = None
    search: Text = Field(None, alias="q")
    created_from: IsoDate = Field(None, alias="from")
    created_to: IsoDate = Field(None, alias="to")
    # One of the two at most: a page older than `before` or newer than `after`.
    before: Annotated[JobCursor | None, _cursor("before")] = None
    after: Annotated[JobCursor | None, _cursor("after")] = None

    _errors: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _drop_bad_values(cls, data: Any, handler: ModelWrapValidatorHandler[JobFilters]) -> Any:
        try:
            return handler(data)
        except ValidationError as error:
            if not isinstance(data, dict):
                raise
            bad = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
            filters = handler({k: v for k, v in data.items() if k not in bad})
            filters._errors = {name: text for name, text in MESSAGES.items() if name in bad}
            return filters

    @property
    def errors(self) -> dict[str, str]:
        """A message per query parameter that was not taken (empty when all were)."""
        return self._errors

    @property
    def page(self) -> job_cursor.Page:
        """Which page to read: newer than `after`, else older than `before` (else the newest)."""
        if self.after is not None:
            return job_cursor.Page(after=self.after)
        return job_cursor.Page(before=self.before)

    @property
    def status_only(self) -> bool:
        """No filter but the status: the one case the jobs counters count exactly."""
        return not (self.tier or self.customer or self.search) and not (
            self.created_from or self.created_to
        )

    def query(self, **overrides: Any) -> str:
        """These filters as a query string (with the page's cursor), with `overrides` (e.g.
        before=<cursor>, after=None) applied."""
        values: dict[str, Any] = {
            "status": self.status,
            "tier": self.tier,
            "customer": self.customer,
            "q": self.search,
            "from": self.created_from.isoformat() if self.created_from else None,
            "to": self.created_to.isoformat() if self.created_to else None,
            "before": self.before.encode() if self.before else None,
            "after": self.after.encode() if self.after else None,
        }
        values.update(overrides)
        return urlencode({k: v for k, v in values.items() if v is not None and v != ""})
