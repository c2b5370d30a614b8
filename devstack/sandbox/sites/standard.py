"""The one-page form and the sites that differ from it only in how they answer: the
duplicate check, email verification, the silent accept, and the redesigned (drifted) form."""

from __future__ import annotations

from dataclasses import replace
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from devstack.sandbox.fields import Field, read_fields
from devstack.sandbox.listings import (
    NOT_SUBMITTED,
    STANDARD_FIELDS,
    accept,
    accept_standard,
    add_site_pages,
    confirmation_page,
    standard_form_page,
)
from devstack.sandbox.pages import invalid_page, page
from devstack.sandbox.runtime import Sandbox, SandboxDep
from devstack.sandbox.state import name_key

DUPLICATE_TEXT = "This business is already listed on our directory."
VERIFY_TEXT = (
    "Almost done! We sent a verification email to {email}. "
    "Click the link in it to publish your listing."
)

UNCONFIRMED_PAGE = (
    '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Form received</title>'
    "</head>\n<body><p>Form received</p></body>\n</html>\n"
)


def redesigned(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    return tuple(
        replace(field, id="business-title") if field.key == "business_name" else field
        for field in fields
    )


# The drift site renamed its business-name input after the recipe was written: the recipe
# still says #biz-name, the page now has #business-title.
DRIFTED_FIELDS = redesigned(STANDARD_FIELDS)

# The plain site's email is optional: a business that gave no public email is listed
# without one (what a directory publishes is only what the customer gave for publishing).
PLAIN_FIELDS = tuple(
    replace(field, required=False) if field.key == "email" else field for field in STANDARD_FIELDS
)

# The sites POST /_admin/redesign can switch to their redesigned form (the business-name
# field renamed as on the drift site): the one-page forms served here.
REDESIGNABLE = frozenset({"plain", "duplicate", "email-verify", "unconfirmed"})


def _fields(sandbox: Sandbox, name: str, fields: tuple[Field, ...]) -> tuple[Field, ...]:
    return redesigned(fields) if name in sandbox.state.redesigned else fields


router = APIRouter()
for _name in ("plain", "duplicate", "email-verify", "unconfirmed", "drift"):
    add_site_pages(router, _name)


@router.get("/plain/submit", response_class=HTMLResponse)
async def plain_form(sandbox: SandboxDep) -> HTMLResponse:
    return standard_form_page("plain", _fields(sandbox, "plain", PLAIN_FIELDS))


@router.post("/plain/submit", response_class=HTMLResponse)
async def plain_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    return await accept_standard(request, sandbox, "plain", _fields(sandbox, "plain", PLAIN_FIELDS))


@router.get("/duplicate/submit", response_class=HTMLResponse)
async def duplicate_form(sandbox: SandboxDep) -> HTMLResponse:
    return standard_form_page("duplicate", _fields(sandbox, "duplicate", STANDARD_FIELDS))


@router.post("/duplicate/submit", response_class=HTMLResponse)
async def duplicate_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    fields = _fields(sandbox, "duplicate", STANDARD_FIELDS)
    values, problems = read_fields(await request.form(), fields)
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    key = name_key(values["business_name"])
    if key in sandbox.state.listed_names:
        # 200 with the message, as most directories answer: the page, not the status, says it.
        body = (
            f'<h1>Not submitted</h1>\n<p class="error duplicate" role="alert">{DUPLICATE_TEXT}</p>'
        )
        return page("Already listed", body)
    sandbox.state.listed_names.add(key)
    return confirmation_page(request, accept(request, sandbox, "duplicate", values))


@router.get("/email-verify/submit", response_class=HTMLResponse)
async def email_verify_form(sandbox: SandboxDep) -> HTMLResponse:
    return standard_form_page("email-verify", _fields(sandbox, "email-verify", STANDARD_FIELDS))


@router.post("/email-verify/submit", response_class=HTMLResponse)
async def email_verify_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    fields = _fields(sandbox, "email-verify", STANDARD_FIELDS)
    values, problems = read_fields(await request.form(), fields)
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    accept(request, sandbox, "email-verify", values, status="pending_verification")
    body = (
        '<div class="verification" role="status">\n<h1>Check your email</h1>\n'
        f"<p>{escape(VERIFY_TEXT.format(email=values['email']))}</p>\n</div>"
    )
    return page("Almost done", body)


@router.get("/unconfirmed/submit", response_class=HTMLResponse)
async def unconfirmed_form(sandbox: SandboxDep) -> HTMLResponse:
    return standard_form_page("unconfirmed", _fields(sandbox, "unconfirmed", STANDARD_FIELDS))


@router.post("/unconfirmed/submit", response_class=HTMLResponse)
async def unconfirmed_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    fields = _fields(sandbox, "unconfirmed", STANDARD_FIELDS)
    values, problems = read_fields(await request.form(), fields)
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    accept(request, sandbox, "unconfirmed", values, status="received")
    # A bare page with nothing that reads as a confirmation: the worker must file it for review.
    return HTMLResponse(UNCONFIRMED_PAGE)


@router.get("/drift/submit", response_class=HTMLResponse)
async def drift_form() -> HTMLResponse:
    return standard_form_page("drift", DRIFTED_FIELDS)


@router.post("/drift/submit", response_class=HTMLResponse)
async def drift_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    # A person filling the redesigned form by hand still gets listed.
    return await accept_standard(request, sandbox, "drift", DRIFTED_FIELDS)
