"""A directory with rules of its own: it lists US businesses only, checks the ZIP code and
the phone number on the server (showing the error next to the field, as real sites do), and
files businesses under its own category list, which our categories map onto
(directories.json category_map)."""

from __future__ import annotations

import re
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from devstack.sandbox.fields import Field, digits, read_fields, render_field
from devstack.sandbox.listings import (
    NOT_SUBMITTED,
    accept,
    add_site_pages,
    confirmation_page,
    form_html,
    form_page,
)
from devstack.sandbox.pages import error_list
from devstack.sandbox.runtime import SandboxDep

router = APIRouter()
add_site_pages(router, "strict")

# The site's own list, in its own words: not our slugs.
STRICT_CATEGORIES = (
    ("", "Choose a category…"),
    ("bakeries", "Bakeries"),
    ("coffee", "Coffee & Tea"),
    ("restaurants", "Restaurants"),
    ("plumbing", "Plumbing & Heating"),
    ("home", "Home Services"),
    ("beauty", "Beauty & Spas"),
)
STRICT_FIELDS = (
    Field("business_name", "Business name", "business-name"),
    Field("street_address", "Street address", "street"),
    Field("city", "City", "city"),
    Field("region", "State", "region"),
    Field("postal_code", "ZIP code", "zip", hint="5 digits, like 62701"),
    Field("phone", "Phone", "phone", kind="tel", hint="A US number with its area code"),
    Field("website", "Website", "website", kind="url"),
    Field("email", "Public email (optional)", "email", kind="email", required=False),
    Field("category", "Category", "category", kind="select", options=STRICT_CATEGORIES),
)
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def us_phone_problem(phone: str) -> str | None:
    """A US (NANP) number: ten digits, or eleven starting with 1, area code not 0 or 1."""
    number = digits(phone)
    if len(number) == 11 and number.startswith("1"):
        number = number[1:]
    if len(number) != 10 or number[0] in "01" or (phone.startswith("+") and phone[1] != "1"):
        return "Phone: enter a US phone number with its area code, like (217) 555-0123"
    return None


def _problems(values: dict[str, str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if "postal_code" in values and not _ZIP.match(values["postal_code"]):
        problems["postal_code"] = "ZIP code: enter a 5-digit US ZIP code"
    if "phone" in values and (problem := us_phone_problem(values["phone"])):
        problems["phone"] = problem
    return problems


def _form(field_errors: dict[str, str] | None = None) -> str:
    errors = field_errors or {}
    parts = []
    for field in STRICT_FIELDS:
        html = render_field(field)
        if field.key in errors:
            # The error sits with its field, as real sites show it.
            note = f'<span class="field-error" role="alert">{escape(errors[field.key])}</span>'
            html = html.replace("</p>", f"{note}</p>", 1)
        parts.append(html)
    return form_html("\n".join(parts))


@router.get("/strict/submit", response_class=HTMLResponse)
async def strict_form() -> HTMLResponse:
    return form_page("strict", _form())


@router.post("/strict/submit", response_class=HTMLResponse)
async def strict_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    values, problems = read_fields(await request.form(), STRICT_FIELDS)
    field_errors = _problems(values)
    if problems:
        return form_page("strict", error_list(problems) + _form())
    if field_errors:
        heading = f"<h2>{escape(NOT_SUBMITTED)}</h2>"
        return form_page("strict", heading + _form(field_errors))
    values["category"] = dict(STRICT_CATEGORIES)[values["category"]]
    return confirmation_page(request, accept(request, sandbox, "strict", values))
