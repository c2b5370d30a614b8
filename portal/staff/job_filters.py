"""The staff jobs list's filters, a query model (`Annotated[JobFilters, Query()]`).

A bad value does not fail the request: the list is shown without that filter, the field's
error is in `errors` (the page answers 422 and marks the field), and every other filter
still applies. Values are checked as they were typed: blank means "any", text is trimmed
and at most 200 characters, dates are ISO (YYYY-MM-DD), the page a whole number from 1.
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

Status = Literal["pending", "in_progress", "waiting", "paused", "complete", "failed", "cancelled"]
Tier = Literal["starter", "growth", "professional", "enterprise"]
JOB_STATUSES: tuple[str, ...] = get_args(Status)
TIERS: tuple[str, ...] = get_args(Tier)
TEXT_MAX = 200
PAGE_MAX = 100_000


def _blank_is_any(value: Any) -> Any:
    return None if value == "" else value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return value.replace("\x00", "").strip() or None


def _iso_date(value: Any) -> Any:
    # date.fromisoformat, not pydantic's date parsing (which also takes unix timestamps).
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _page(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = (value or "1").strip()
    if not value.isdigit():
        raise ValueError("not a whole number")
    return int(value)


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
    "page": "page must be a whole number from 1",
}


class JobFilters(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    status: Annotated[Status | None, BeforeValidator(_blank_is_any)] = None
    tier: Annotated[Tier | None, BeforeValidator(_blank_is_any)] = None
    customer: Text = None
    search: Text = Field(None, alias="q")
    created_from: IsoDate = Field(None, alias="from")
    created_to: IsoDate = Field(None, alias="to")
    page: Annotated[int, BeforeValidator(_page), Field(ge=1, le=PAGE_MAX)] = 1

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

    def query(self, **overrides: Any) -> str:
        """These filters as a query string, with `overrides` (e.g. page=2) applied."""
        values: dict[str, Any] = {
            "status": self.status,
            "tier": self.tier,
            "customer": self.customer,
            "q": self.search,
            "from": self.created_from.isoformat() if self.created_from else None,
            "to": self.created_to.isoformat() if self.created_to else None,
            "page": self.page,
        }
        values.update(overrides)
        return urlencode(
            {
                k: v
                for k, v in values.items()
                if v is not None and v != "" and not (k == "page" and v == 1)
            }
        )
