"""Sites whose form is the usual one but laid out awkwardly: in three client-side steps,
created by JavaScript after load, or inside an iframe."""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from devstack.sandbox import catalog
from devstack.sandbox.fields import Field, read_fields, render_fields
from devstack.sandbox.listings import (
    NOT_SUBMITTED,
    STANDARD_FIELDS,
    accept,
    accept_standard,
    add_site_pages,
    confirmation_page,
    form_html,
    form_page,
)
from devstack.sandbox.pages import invalid_page, page
from devstack.sandbox.runtime import SandboxDep

router = APIRouter()
for _name in ("multistep", "js-form", "iframe"):
    add_site_pages(router, _name)

# --- multistep: business → address → contact/hours, one page, "Next" reveals the next step --

COUNTRIES = (
    ("", "Choose…"),
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
)
MULTISTEP_STEPS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    (
        "Your business",
        (
            Field("business_name", "Business name", "ms-name"),
            Field("category", "Category", "ms-category"),
            Field("website", "Website", "ms-website", kind="url"),
            Field("description", "About", "ms-description", kind="textarea", required=False),
        ),
    ),
    (
        "Address",
        (
            Field("street_address", "Street address", "ms-street"),
            Field("city", "City", "ms-city"),
            Field("region", "State", "ms-region"),
            Field("postal_code", "ZIP code", "ms-postal"),
            Field("country", "Country", "ms-country", kind="select", options=COUNTRIES),
        ),
    ),
    (
        "Contact and hours",
        (
            # This site wants the bare ten digits (recipes send phone_digits).
            Field(
                "phone",
                "Phone",
                "ms-phone",
                kind="tel",
                pattern="[0-9]{10}",
                hint="10 digits, no spaces or dashes",
            ),
            Field("email", "Email", "ms-email", kind="email"),
            Field("hours", "Opening hours", "ms-hours", kind="textarea", required=False),
        ),
    ),
)
MULTISTEP_FIELDS = tuple(field for _, fields in MULTISTEP_STEPS for field in fields)

# Without JavaScript every step shows at once and the form still works.
_STEPS_SCRIPT = """
<script>
(() => {
  const steps = [...document.querySelectorAll('fieldset.step')];
  const show = (index) => steps.forEach((step, i) => { step.hidden = i !== index; });
  steps.forEach((step, index) => {
    step.querySelector('button.next')?.addEventListener('click', () => {
      const controls = [...step.querySelectorAll('input, select, textarea')];
      if (controls.every((control) => control.reportValidity())) show(index + 1);
    });
    step.querySelector('button.back')?.addEventListener('click', () => show(index - 1));
  });
  show(0);
})();
</script>"""


def _multistep_html() -> str:
    fieldsets = []
    last = len(MULTISTEP_STEPS)
    for number, (legend, fields) in enumerate(MULTISTEP_STEPS, start=1):
        buttons = []
        if number > 1:
            buttons.append('<button type="button" class="back">Back</button>')
        buttons.append(
            '<button type="submit">Submit listing</button>'
            if number == last
            else '<button type="button" class="next">Next</button>'
        )
        fieldsets.append(
            f'<fieldset id="step-{number}" class="step">\n'
            f"<legend>Step {number} of {last}: {escape(legend)}</legend>\n"
            f"{render_fields(fields)}\n<p>{' '.join(buttons)}</p>\n</fieldset>"
        )
    return '<form id="listing-form" method="post">\n' + "\n".join(fieldsets) + "\n</form>"


@router.get("/multistep/submit", response_class=HTMLResponse)
async def multistep_form() -> HTMLResponse:
    return form_page("multistep", _multistep_html() + _STEPS_SCRIPT)


@router.post("/multistep/submit", response_class=HTMLResponse)
async def multistep_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    return await accept_standard(request, sandbox, "multistep", MULTISTEP_FIELDS)


# --- js-form: the page arrives empty; a script builds the form a moment later ---------------


@router.get("/js-form/submit", response_class=HTMLResponse)
async def js_form(sandbox: SandboxDep) -> HTMLResponse:
    markup = form_html(render_fields(STANDARD_FIELDS))
    # "</" inside a script string would end the script element early.
    markup_js = json.dumps(markup).replace("</", "<\\/")
    content = (
        '<div id="form-root" aria-live="polite"><p class="loading">Loading the form…</p></div>\n'
        "<script>\nsetTimeout(() => {\n"
        f"  document.getElementById('form-root').innerHTML = {markup_js};\n"
        f"}}, {int(sandbox.settings.js_form_delay_ms)});\n</script>"
    )
    return form_page("js-form", content)


@router.post("/js-form/submit", response_class=HTMLResponse)
async def js_form_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    return await accept_standard(request, sandbox, "js-form")


# --- iframe: the submit page frames the real form, which posts and confirms inside the frame -


@router.get("/iframe/submit", response_class=HTMLResponse)
async def iframe_page() -> HTMLResponse:
    content = (
        '<iframe id="submit-frame" name="submit-frame" src="embed" title="Listing form" '
        'style="width: 100%; height: 60rem; border: 0"></iframe>'
    )
    return form_page("iframe", content)


@router.get("/iframe/embed", response_class=HTMLResponse)
async def iframe_embed() -> HTMLResponse:
    title = catalog.site("iframe").title
    body = f"<h2>Listing form</h2>\n{form_html(render_fields(STANDARD_FIELDS))}"
    return page(f"Listing form — {title}", body)


@router.post("/iframe/embed", response_class=HTMLResponse)
async def iframe_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    values, problems = read_fields(await request.form(), STANDARD_FIELDS)
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    submission = accept(request, sandbox, "iframe", values)
    # The confirmation shows inside the frame; the listing opens in the whole window.
    return confirmation_page(request, submission, link_target="_top")
