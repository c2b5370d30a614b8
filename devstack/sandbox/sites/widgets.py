"""Sites with richer controls: a category select with radios and checkboxes, an
opening-hours widget, and a logo upload."""

from __future__ import annotations

import re
from html import escape

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from devstack.sandbox.fields import (
    Field,
    read_fields,
    render_fields,
    text_value,
    text_values,
    upload,
)
from devstack.sandbox.listings import (
    NOT_SUBMITTED,
    accept,
    add_site_pages,
    confirmation_page,
    form_html,
    form_page,
)
from devstack.sandbox.pages import invalid_page
from devstack.sandbox.runtime import SandboxDep
from devstack.sandbox.state import FieldValue, Logo

router = APIRouter()
for _name in ("choices", "hours", "logo"):
    add_site_pages(router, _name)

_ADDRESS_FIELDS = (
    Field("street_address", "Street address", "street"),
    Field("city", "City", "city"),
    Field("region", "State / region", "region"),
    Field("postal_code", "Postal code", "postal-code"),
)


def _choice(
    kind: str, name: str, id_prefix: str, value: str, label: str, *, required: bool = False
) -> str:
    control_id = f"{id_prefix}-{value}"
    flag = " required" if required else ""
    return (
        f'<p class="choice"><input type="{kind}" id="{control_id}" name="{name}" '
        f'value="{escape(value)}"{flag}><label for="{control_id}">{escape(label)}</label></p>'
    )


# --- choices: a select, radios, checkboxes and a required terms box -------------------------

CATEGORIES = (
    ("", "Choose a category…"),
    ("bakery", "Bakery"),
    ("cafe", "Café"),
    ("restaurant", "Restaurant"),
    ("florist", "Florist"),
    ("hair-salon", "Hair salon"),
    ("plumber", "Plumber"),
    ("other", "Other"),
)
BUSINESS_TYPES = (
    ("storefront", "Shop or storefront customers visit"),
    ("service-area", "Service-area business"),
    ("online", "Online only"),
)
SERVICES = (
    ("takeaway", "Takeaway"),
    ("delivery", "Delivery"),
    ("catering", "Catering"),
    ("wifi", "Free Wi-Fi"),
)
CHOICES_FIELDS = (
    Field("business_name", "Business name", "business-name"),
    *_ADDRESS_FIELDS,
    Field("phone", "Phone", "phone", kind="tel"),
    Field("website", "Website", "website", kind="url"),
    Field("email", "Email", "email", kind="email"),
    Field("category", "Category", "category", kind="select", options=CATEGORIES),
)


def _choices_html() -> str:
    radios = "".join(
        _choice("radio", "business_type", "type", value, label, required=True)
        for value, label in BUSINESS_TYPES
    )
    boxes = "".join(
        _choice("checkbox", "services", "service", value, label) for value, label in SERVICES
    )
    return (
        f"{render_fields(CHOICES_FIELDS)}\n"
        f"<fieldset><legend>Type of business</legend>{radios}</fieldset>\n"
        f"<fieldset><legend>Services</legend>{boxes}</fieldset>\n"
        '<p class="choice"><input type="checkbox" id="terms" name="terms" value="yes" required>'
        '<label for="terms">I accept the terms</label></p>'
    )


@router.get("/choices/submit", response_class=HTMLResponse)
async def choices_form() -> HTMLResponse:
    return form_page("choices", form_html(_choices_html()))


@router.post("/choices/submit", response_class=HTMLResponse)
async def choices_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    values, problems = read_fields(form, CHOICES_FIELDS)
    business_type = text_value(form, "business_type")
    services = text_values(form, "services")
    if business_type not in {value for value, _ in BUSINESS_TYPES}:
        problems.append("Type of business: choose one")
    if not set(services) <= {value for value, _ in SERVICES}:
        problems.append("Services: choose from the listed services")
    if text_value(form, "terms") != "yes":
        problems.append("I accept the terms: you must accept the terms to be listed")
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    fields: dict[str, FieldValue] = {
        **values,
        "business_type": business_type,
        "services": services,
        "terms": "yes",
    }
    return confirmation_page(request, accept(request, sandbox, "choices", fields))


# --- hours: per weekday a "closed" box and opening/closing <input type=time> ---------------

DAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
# What Chromium submits from <input type=time>: HH:MM, with seconds only if someone set them.
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
HOURS_FIELDS = (
    Field("business_name", "Business name", "business-name"),
    *_ADDRESS_FIELDS,
    Field("phone", "Phone", "phone", kind="tel"),
    Field(
        "website",
        "Website (domain only)",
        "website",
        hint="for example bluebird-bakery.example",
    ),
    Field("email", "Email", "email", kind="email"),
    Field("category", "Category", "category"),
)
# Ticking "Closed" greys out that day's times; a disabled input is not submitted at all.
_HOURS_SCRIPT = """
<script>
document.querySelectorAll('input.closed').forEach((box) => {
  const times = box.closest('tr').querySelectorAll('input[type=time]');
  const sync = () => times.forEach((time) => { time.disabled = box.checked; });
  box.addEventListener('change', sync);
  sync();
});
</script>"""


def _hours_html() -> str:
    rows = []
    for day, label in DAYS:
        rows.append(
            f'<tr><th scope="row">{label}</th>'
            f'<td><input type="time" id="hours-{day}-open" name="{day}_open" '
            f'aria-label="{label} opens"></td>'
            f'<td><input type="time" id="hours-{day}-close" name="{day}_close" '
            f'aria-label="{label} closes"></td>'
            f'<td class="choice"><input type="checkbox" class="closed" id="hours-{day}-closed" '
            f'name="{day}_closed" value="yes">'
            f'<label for="hours-{day}-closed">Closed</label></td></tr>'
        )
    table = (
        '<fieldset id="hours"><legend>Opening hours</legend><table class="hours">'
        '<thead><tr><th scope="col">Day</th><th scope="col">Opens</th>'
        '<th scope="col">Closes</th><th scope="col">Closed all day</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></fieldset>"
    )
    return f"{render_fields(HOURS_FIELDS)}\n{table}"


def read_hours(form_values: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """`hours_<day>` → "07:00-15:00" or "closed", and a problem for each day that makes no sense."""
    hours: dict[str, str] = {}
    problems: list[str] = []
    for day, label in DAYS:
        if form_values.get(f"{day}_closed") == "yes":
            hours[f"hours_{day}"] = "closed"
            continue
        opens = form_values.get(f"{day}_open", "")
        closes = form_values.get(f"{day}_close", "")
        if not opens and not closes:
            problems.append(f"{label}: give the opening hours or tick Closed")
        elif not (_TIME.match(opens) and _TIME.match(closes)):
            problems.append(f"{label}: give both times as HH:MM")
        elif opens[:5] >= closes[:5]:
            problems.append(f"{label}: the opening time must be before the closing time")
        else:
            hours[f"hours_{day}"] = f"{opens[:5]}-{closes[:5]}"
    return hours, problems


@router.get("/hours/submit", response_class=HTMLResponse)
async def hours_form() -> HTMLResponse:
    return form_page("hours", form_html(_hours_html()) + _HOURS_SCRIPT)


@router.post("/hours/submit", response_class=HTMLResponse)
async def hours_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    values, problems = read_fields(form, HOURS_FIELDS)
    names = [f"{day}_{part}" for day, _ in DAYS for part in ("open", "close", "closed")]
    hours, hour_problems = read_hours({name: text_value(form, name) for name in names})
    if problems or hour_problems:
        return invalid_page(NOT_SUBMITTED, problems + hour_problems)
    return confirmation_page(request, accept(request, sandbox, "hours", values | hours))


# --- logo: multipart form with an optional PNG/JPEG of at most 1 MB -------------------------

MAX_LOGO_BYTES = 1024 * 1024
LOGO_FIELDS = (
    Field("business_name", "Business name", "business-name"),
    Field("address", "Full address", "address", hint="street, city, state, ZIP"),
    Field("phone", "Phone", "phone", kind="tel"),
    Field("website", "Website", "website", kind="url"),
    Field("email", "Email", "email", kind="email"),
    Field("category", "Category", "category"),
    Field("tagline", "Tagline", "tagline", required=False),
    Field("description", "Description", "description", kind="textarea", required=False),
)


def sniff_image(data: bytes) -> str | None:
    """The type the bytes really are: the declared Content-Type comes from a file name."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _logo_html() -> str:
    return (
        f"{render_fields(LOGO_FIELDS)}\n"
        '<p class="field"><label for="logo">Logo (PNG or JPEG, at most 1 MB)</label>'
        '<input type="file" id="logo" name="logo" accept="image/png,image/jpeg"></p>'
    )


@router.get("/logo/submit", response_class=HTMLResponse)
async def logo_form() -> HTMLResponse:
    return form_page("logo", form_html(_logo_html(), multipart=True))


@router.post("/logo/submit", response_class=HTMLResponse)
async def logo_submit(request: Request, sandbox: SandboxDep) -> HTMLResponse:
    form = await request.form()
    values, problems = read_fields(form, LOGO_FIELDS)
    logo: Logo | None = None
    file = upload(form, "logo")
    if file is not None:
        data = await file.read()
        content_type = sniff_image(data)
        if len(data) > MAX_LOGO_BYTES:
            problems.append("Logo: at most 1 MB")
        elif content_type is None:
            problems.append("Logo: PNG or JPEG only")
        else:
            logo = Logo(size=len(data), content_type=content_type)
    if problems:
        return invalid_page(NOT_SUBMITTED, problems)
    return confirmation_page(request, accept(request, sandbox, "logo", values, logo=logo))
