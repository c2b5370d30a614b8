"""Jinja2 pages: every template sees who is signed in and the portal's public URL, the
formatting filters (staff_time, staff_duration, staff_status_class) and the report's wording
helpers (state_words, format_time, error_reason, directory_outcome)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dbolt.refusals import error_reason
from dbolt.words import count_of, duration, noun_for
from portal.reports.links import breakable_url, http_link
from portal.reports.progress import format_time, state_words
from portal.reports.summary import directory_outcome

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = getattr(request.app.state, "portal", None)
    base: dict[str, Any] = {
        "viewer": getattr(request.state, "viewer", None),
        "portal_url": state.settings.portal_url if state is not None else "",
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


# -- filters for the staff dashboard (namespaced staff_*) -----------------------------------------
def staff_time(value: object) -> str:
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def staff_duration(value: object) -> str:
    seconds = int(float(str(value or 0)))
    if seconds <= 0:
        return "none waiting"
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


_GOOD = {"complete", "submitted", "live", "success", "already_listed"}
_BAD = {"failed", "cancelled", "permanent_error", "not_live"}
_WARN = {"paused", "needs_action", "needs_review", "transient_error", "live_mismatch"}


def staff_status_class(value: object) -> str:
    text = str(value)
    if text in _GOOD:
        return "status-ok"
    if text in _BAD:
        return "status-bad"
    return "status-warn" if text in _WARN else ""


templates.env.filters.update(
    staff_time=staff_time, staff_duration=staff_duration, staff_status_class=staff_status_class
)
# Counts and spans of time in words (dbolt.words), for customers and staff alike:
# `{{ n | count_of("directory") }}`, `{{ n | noun_for("directory needs", "directories need") }}`.
templates.env.filters.update(count_of=count_of, noun_for=noun_for, duration=duration)
# The customer's job page, its live rows and the report word things the same way.
templates.env.globals.update(
    state_words=state_words,
    format_time=format_time,
    error_reason=error_reason,
    directory_outcome=directory_outcome,
    # Listing addresses: a link only if http(s), and wrapped at their separators.
    http_link=http_link,
    breakable_url=breakable_url,
)
