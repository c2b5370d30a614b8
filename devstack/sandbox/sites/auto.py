"""Sites without a recipe, for the worker's generic filler: fields known only by their
labels, only by their placeholders (in two steps), or by their autocomplete attributes
(with labels no keyword matches, so only the attribute tells).

Ids and names are meaningless on purpose (f1, p1, ac1…) so the filler cannot lean on them.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from devstack.sandbox.fields import Field, read_fields, render_fields, text_value
from devstack.sandbox.listings import (
    NOT_SUBMITTED,
    accept,
    accept_standard,
    add_site_pages,
    confirmation_page,
    form_html,
    form_page,
)
from devstack.sandbox.pages import invalid_page
from devstack.sandbox.runtime import SandboxDep

router = APIRouter()
for _name in ("auto-labels", "auto-placeholders", "auto-autocomplete"):
    add_site_pages(router, _name)


def _generic(prefix: str, fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """The same fields with ids and names `<prefix>1`, `<prefix>2`…"""
    return tuple(
        replace(field, id=f"{prefix}{number}", name=f"{prefix}{number}")
        for number, field in enumerate(fields, start=1)
    )


# --- auto-labels: <label for> is the only clue ------------------------------------------------

LABEL_FIELDS = _generic(
    "f",
    (
        Field("business_name", "Business name", ""),
        Field("street_address", "Street address", ""),
        Field("city", "City", ""),
        Field("region", "State", ""),
        Field("postal_code", "ZIP code", ""),
        Field("phone", "Phone number", "", kind="tel"),
        Field("website", "Website", "", kind="url"),
        Field("email", "Email", "", kind="email"),
        Field("category", "Category", ""),
    ),
)


@router.get("/auto-labels/submit", response_class=HTMLResponse)
async def labels_form() -> HTMLResponse:
    return form_page("auto-labels", form_html(render_fields(LABEL_FIELDS), submit_label="Submit"))


@router.post("/auto-labels/submit", response_class=HTMLResponse)
async def labels_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    return await accept_standard(request, sandbox, "auto-labels", LABEL_FIELDS)


# --- auto-placeholders: no labels, two steps ("Continue", then "Submit listing") -----------


def _placeholder(key: str, text: str, kind: str = "text", required: bool = True) -> Field:
    # No <label>: Chromium takes the accessible name from the placeholder.
    return Field(key, text, "", kind=kind, placeholder=text, required=required, labelled=False)


PLACEHOLDER_STEPS = (
    _generic(
        "p",
        (
            _placeholder("business_name", "Business name"),
            _placeholder("street_address", "Street address"),
            _placeholder("city", "City"),
            _placeholder("region", "State"),
            _placeholder("postal_code", "ZIP / postal code"),
        ),
    ),
    _generic(
        "q",
        (
            _placeholder("phone", "Phone number", "tel"),
            _placeholder("website", "Website", "url"),
            _placeholder("email", "Email address", "email"),
            _placeholder("category", "Category, e.g. Bakery"),
            _placeholder(
                "description", "Tell customers about your business", "textarea", required=False
            ),
        ),
    ),
)
PLACEHOLDER_FIELDS = PLACEHOLDER_STEPS[0] + PLACEHOLDER_STEPS[1]

# Without JavaScript both steps show and the form still works.
_CONTINUE_SCRIPT = """
<script>
(() => {
  const [first, second] = document.querySelectorAll('div.page');
  second.hidden = true;
  first.querySelector('button.continue').addEventListener('click', () => {
    const controls = [...first.querySelectorAll('input')];
    if (controls.every((control) => control.reportValidity())) {
      first.hidden = true;
      second.hidden = false;
    }
  });
})();
</script>"""


@router.get("/auto-placeholders/submit", response_class=HTMLResponse)
async def placeholders_form() -> HTMLResponse:
    first, second = PLACEHOLDER_STEPS
    markup = (
        '<form method="post">\n'
        f'<div class="page">\n{render_fields(first)}\n'
        '<p><button type="button" class="continue">Continue</button></p>\n</div>\n'
        f'<div class="page">\n{render_fields(second)}\n'
        '<p><button type="submit">Submit listing</button></p>\n</div>\n</form>'
    )
    return form_page("auto-placeholders", markup + _CONTINUE_SCRIPT)


@router.post("/auto-placeholders/submit", response_class=HTMLResponse)
async def placeholders_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    return await accept_standard(request, sandbox, "auto-placeholders", PLACEHOLDER_FIELDS)


# --- auto-autocomplete: odd labels, standard autocomplete tokens ---------------------------

SECTORS = (
    ("", "Select…"),
    ("3", "Automotive"),
    ("12", "Bakery"),
    ("13", "Café"),
    ("21", "Florist"),
    ("40", "Restaurant"),
    ("99", "Other"),
)
SECTOR_LABELS = dict(SECTORS)
AUTOCOMPLETE_FIELDS = _generic(
    "ac",
    (
        Field("business_name", "Trading as", "", autocomplete="organization"),
        Field("street_address", "Line 1", "", autocomplete="street-address"),
        Field("city", "Town", "", autocomplete="address-level2"),
        Field("region", "County / state", "", autocomplete="address-level1"),
        Field("postal_code", "Post code", "", autocomplete="postal-code"),
        Field("country", "Nation", "", autocomplete="country"),
        Field("phone", "Tel.", "", kind="tel", autocomplete="tel"),
        Field("website", "Web", "", kind="url", autocomplete="url"),
        Field("email", "E-post", "", kind="email", autocomplete="email"),
        # No autocomplete token names a category: the label is the filler's only clue.
        Field("category", "Category", "", kind="select", options=SECTORS),
    ),
)
_TERMS = (
    '<p class="choice"><input type="checkbox" id="ac-terms" name="agree" value="1" required>'
    '<label for="ac-terms">I agree to the listing terms</label></p>'
)


@router.get("/auto-autocomplete/submit", response_class=HTMLResponse)
async def autocomplete_form() -> HTMLResponse:
    markup = form_html(f"{render_fields(AUTOCOMPLETE_FIELDS)}\n{_TERMS}", submit_label="Publish")
    return form_page("auto-autocomplete", markup)


@router.post("/auto-autocomplete/submit", response_class=HTMLResponse)
async def autocomplete_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    values, problems = read_fields(form, AUTOCOMPLETE_FIELDS)
    if text_value(form, "agree") != "1":
        problems.append("I agree to the listing terms: required")
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    # Record what the customer chose, not the site's internal code.
    values["category"] = SECTOR_LABELS[values["category"]]
    return confirmation_page(request, accept(request, sandbox, "auto-autocomplete", values))
