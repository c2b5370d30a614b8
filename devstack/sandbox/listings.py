"""What every accepting site shares: its homepage, its form page, recording an accepted
submission, the confirmation page and the public listing page."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from devstack.sandbox import catalog
from devstack.sandbox.fields import Field, read_fields, render_fields
from devstack.sandbox.pages import PageError, invalid_page, page
from devstack.sandbox.runtime import Sandbox, SandboxDep, via_header
from devstack.sandbox.state import FieldValue, Logo, Submission, SubmissionStatus

CONFIRMATION_TEXT = "Thank you! Your listing has been submitted."
NOT_SUBMITTED = "Your listing was not submitted"

# The one-page business form most sites use; recipes address it by these ids.
STANDARD_FIELDS: tuple[Field, ...] = (
    Field("business_name", "Business name", "business-name", autocomplete="organization"),
    Field("street_address", "Street address", "street", autocomplete="street-address"),
    Field("city", "City", "city", autocomplete="address-level2"),
    Field("region", "State / region", "region", autocomplete="address-level1"),
    Field("postal_code", "Postal code", "postal-code", autocomplete="postal-code"),
    Field("country", "Country", "country", autocomplete="country-name"),
    Field("phone", "Phone", "phone", kind="tel", autocomplete="tel"),
    Field("website", "Website", "website", kind="url", autocomplete="url"),
    Field("email", "Email", "email", kind="email", autocomplete="email"),
    Field("category", "Category", "category"),
    Field("description", "Description", "description", kind="textarea", required=False),
)


def form_html(
    fields_html: str,
    *,
    submit_label: str = "Submit listing",
    form_id: str = "listing-form",
    multipart: bool = False,
) -> str:
    # No action: the form posts back to the URL it was served from.
    enctype = ' enctype="multipart/form-data"' if multipart else ""
    return (
        f'<form id="{form_id}" method="post"{enctype}>\n{fields_html}\n'
        f'<p><button type="submit">{escape(submit_label)}</button></p>\n</form>'
    )


def form_page(name: str, content: str, *, head: str = "") -> HTMLResponse:
    site = catalog.site(name)
    body = (
        f"<h1>{escape(site.title)}</h1>\n"
        f"<p>Add your business to {escape(site.title)}. It is free.</p>\n{content}"
    )
    return page(f"Add your business — {site.title}", body, head=head)


def accept(
    request: Request,
    sandbox: Sandbox,
    name: str,
    fields: Mapping[str, FieldValue],
    *,
    logo: Logo | None = None,
    status: SubmissionStatus = "listed",
) -> Submission:
    return sandbox.state.record(name, fields, via=via_header(request), logo=logo, status=status)


def listing_url(request: Request, submission: Submission) -> str:
    # Absolute, so the worker can store the href as it is.
    return f"{request.base_url}{submission.site}/listing/{submission.id}"


def confirmation_page(
    request: Request, submission: Submission, *, link_target: str | None = None
) -> HTMLResponse:
    site = catalog.site(submission.site)
    url = listing_url(request, submission)
    target = f' target="{link_target}"' if link_target else ""
    body = (
        f'<div class="confirmation" role="status">\n<h1>{CONFIRMATION_TEXT}</h1>\n'
        f"<p>Your listing is live on {escape(site.title)}: "
        f'<a class="listing-link" href="{escape(url)}"{target}>{escape(url)}</a></p>\n</div>'
    )
    return page(f"Listing submitted — {site.title}", body)


def standard_form_page(name: str, fields: tuple[Field, ...] = STANDARD_FIELDS) -> HTMLResponse:
    return form_page(name, form_html(render_fields(fields)))


async def accept_standard(
    request: Request, sandbox: Sandbox, name: str, fields: tuple[Field, ...] = STANDARD_FIELDS
) -> HTMLResponse:
    """Read the standard form; list the business and confirm, or say what is wrong."""
    values, problems = read_fields(await request.form(), fields)
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    submission = accept(request, sandbox, name, values)
    # Accepted and recorded; the answer may be held back (POST /_admin/hold, tests only).
    await sandbox.state.wait_if_held(name)
    return confirmation_page(request, submission)


def _listing_page(site: catalog.Site, submission: Submission) -> HTMLResponse:
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(str(value))}</td></tr>"
        for key, value in submission.fields.items()
    )
    name = str(submission.fields.get("business_name", "A business"))
    body = (
        f'<article class="listing"><h1>{escape(name)}</h1>'
        f"<p>Listed on {escape(site.title)}.</p><table>{rows}</table></article>"
    )
    return page(f"{name} — {site.title}", body)


def add_site_pages(router: APIRouter, name: str) -> None:
    """The site's homepage and its public listing pages, on the site's own router so that
    the router's dependencies (the rate limit) apply to them too."""
    site = catalog.site(name)

    async def homepage() -> HTMLResponse:
        body = (
            f"<h1>{escape(site.title)}</h1>\n<p>The local directory with {escape(site.behaviour)}."
            '</p>\n<p><a href="submit">Add your business</a></p>'
        )
        return page(site.title, body)

    async def listing(listing_id: int, sandbox: SandboxDep) -> HTMLResponse:
        submission = sandbox.state.find(name, listing_id)
        if submission is None or submission.status == "pending_verification":
            raise PageError(404, "No such listing")
        return _listing_page(site, submission)

    router.add_api_route(f"/{name}/", homepage, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(
        f"/{name}/listing/{{listing_id}}", listing, methods=["GET"], response_class=HTMLResponse
    )
