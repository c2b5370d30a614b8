"""The Business Info Form on the server: the posted fields read into dbolt's EnteredBusiness
(whose field validators hold the rules and their messages), its errors keyed by the form's
field ids, a refusal by the database put next to the field its constraint is about, and the
logo upload.

Form field names (and the ids errors are keyed by) are the customers columns, plus
`hours-<day>-closed`, `hours-<day>-<n>-open|close`, `social-<network>`, `logo`, `remove_logo`,
and a logo held from an earlier try: `held_logo` (its id), `held_logo_name`, `drop_held_logo`.
The database's constraints (migration 20261129000300 and the category list of 20261129001900)
are the last word; the model's rules are stricter so a customer sees a message next to the
field instead of a refusal.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dbolt.business import (
    ATTRIBUTES,
    MIDNIGHT,
    PUBLIC_EMAIL_MESSAGE,
    RANGES_PER_DAY,
    SOCIAL_NETWORKS,
    TEXT_RULES,
    WEEKDAYS,
    EnteredBusiness,
    normalise_text,
)
from dbolt.contracts import LOGO_MAX_BYTES as LOGO_MAX_BYTES
from dbolt.contracts import logo_id_of
from dbolt.sql import InvalidArgument

# What the browser may send, by type (the bytes decide: sniff_image).
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
# The form's one-line fields that are not free text, in form order.
_CHOSEN_FIELDS = ("country", "phone", "website", "category")

# Which field a constraint is about (psycopg's diag.constraint_name), so the database's
# refusal lands next to it. The model's own rules catch the customers ones first; no rule
# of the form can foresee jobs_enqueue's (migration 20261204000100).
CONSTRAINT_FIELDS: dict[str, tuple[str, str]] = {
    "customers_phone_is_e164": ("phone", "This is not a valid phone number"),
    "customers_website_is_http_url": ("website", "Enter a web address like example.com"),
    "customers_country_is_iso_alpha2": ("country", "Choose a country from the list"),
    "customers_category_is_listed": ("category", "Choose a category from the list"),
    "customers_hours_are_valid": ("hours-mon", "The opening hours are not valid"),
    "customers_public_email_is_an_address": (
        "public_email",
        PUBLIC_EMAIL_MESSAGE,
    ),
    "customers_tagline_is_short": (
        "tagline",
        f"The tagline must be at most {TEXT_RULES['tagline'].max_length} characters",
    ),
    "customers_description_is_bounded": (
        "description",
        f"The description must be at most {TEXT_RULES['description'].max_length} characters",
    ),
    "jobs_enqueue_a_directory_accepts_the_business": (
        "category",
        "We have no directories for this category in this country yet. "
        "Choose the closest category, or contact us.",
    ),
}


def logo_path(stored_url: object) -> str | None:
    """The portal's own path for a stored logo, built from its id, or None if it names none.

    customers.logo_url's origin came from whoever called customers_save_logo (a customer can,
    through the Data API); only the id in it is ours (dbolt/contracts.py logo_id_of)."""
    logo_id = logo_id_of(stored_url)
    return f"/logos/{logo_id}" if logo_id else None


@dataclass(frozen=True)
class Logo:
    content: bytes
    content_type: str


LOGO_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
LOGO_NAME_MAX_LENGTH = 80


@dataclass(frozen=True)
class HeldLogo:
    """An accepted upload stored for the customer (customers_hold_logo) while the form is not
    yet saved: a form sent back with errors carries its id instead of losing the file."""

    id: uuid.UUID
    content_type: str
    # The file's name on the customer's computer, only ever shown back to them.
    name: str

    @property
    def path(self) -> str:
        return f"/logos/{self.id}.{LOGO_EXTENSIONS[self.content_type]}"


def logo_name(raw: str | None) -> str:
    """An uploaded file's name fit to show: its last path part, printable, not too long."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    name = " ".join(name.split())[:LOGO_NAME_MAX_LENGTH]
    return name or "your logo"


def held_logo_id(form: Mapping[str, str]) -> uuid.UUID | None:
    """The held logo the form carries, unless the customer asked to drop it."""
    if _ticked(form, "drop_held_logo"):
        return None
    try:
        return uuid.UUID(form.get("held_logo", ""))
    except ValueError:
        return None


@dataclass
class FormResult:
    """What was entered (to show again), the errors by field id, and what to store."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    business: EnteredBusiness | None = None
    logo: Logo | None = None
    remove_logo: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def sniff_image(content: bytes) -> str | None:
    """The image type by its magic bytes (never by the file name or the browser's word)."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _ticked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name, "") in ("on", "1", "true")


# An attribute's select: "yes", "no", or "" (not said, so nothing is ticked for it).
ATTRIBUTE_ANSWERS: dict[str, bool | None] = {"yes": True, "no": False, "": None}


def _entered_attributes(form: Mapping[str, str]) -> dict[str, bool | None]:
    return {
        name: ATTRIBUTE_ANSWERS.get(form.get(f"attr-{name}", "").strip()) for name in ATTRIBUTES
    }


def _answer(value: object) -> str:
    return {True: "yes", False: "no"}.get(value, "") if isinstance(value, bool) else ""


def _entered_ranges(form: Mapping[str, str], day: str) -> list[tuple[str, str]]:
    return [
        (
            form.get(f"hours-{day}-{n}-open", "").strip(),
            form.get(f"hours-{day}-{n}-close", "").strip(),
        )
        for n in range(RANGES_PER_DAY)
    ]


def _entered_day(form: Mapping[str, str], day: str) -> list[dict[str, str]] | None:
    """The day's ranges as the model takes them: [] closed, None nothing entered."""
    if _ticked(form, f"hours-{day}-closed"):
        return []
    ranges = [{"open": o, "close": c} for o, c in _entered_ranges(form, day) if o or c]
    return ranges or None


def entered(form: Mapping[str, str]) -> dict[str, Any]:
    """The posted fields in the model's shape; the model checks and normalises them."""
    return {
        **{name: form.get(name, "") for name in (*TEXT_RULES, *_CHOSEN_FIELDS)},
        "hours": {day: _entered_day(form, day) for day, _ in WEEKDAYS},
        "attributes": _entered_attributes(form),
        "social_links": {n: form.get(f"social-{n}", "") for n in SOCIAL_NETWORKS},
    }


def shown(form: Mapping[str, str]) -> dict[str, Any]:
    """What was entered, tidied as the model tidies it, to show again next to any error."""
    values: dict[str, Any] = {
        name: normalise_text(form.get(name, ""), rule) for name, rule in TEXT_RULES.items()
    }
    values.update({name: form.get(name, "").strip() for name in _CHOSEN_FIELDS})
    values["country"] = values["country"].upper()
    values["hours"] = {
        day: {"closed": _ticked(form, f"hours-{day}-closed"), "ranges": _entered_ranges(form, day)}
        for day, _ in WEEKDAYS
    }
    values["social"] = {n: form.get(f"social-{n}", "").strip() for n in SOCIAL_NETWORKS}
    values["attributes"] = {
        name: _answer(answer) for name, answer in _entered_attributes(form).items()
    }
    return values


def _field_id(loc: tuple[int | str, ...]) -> str:
    """The form's id for a model error's location."""
    match loc:
        case ("hours", str(day), *_):
            return f"hours-{day}"
        case ("hours",):
            # The week as a whole (no day open): shown at its first day.
            return "hours-mon"
        case ("social_links", str(network), *_):
            return f"social-{network}"
        case (name, *_):
            return str(name)
    return "form"


def errors_by_field(error: ValidationError) -> dict[str, str]:
    """Each field's first error, keyed by the form's field id."""
    errors: dict[str, str] = {}
    for problem in error.errors():
        errors.setdefault(_field_id(tuple(problem["loc"])), problem["msg"])
    return errors


def _logo(upload: bytes | None) -> tuple[Logo | None, str | None]:
    if not upload:
        return None, None
    content_type = sniff_image(upload)
    if len(upload) > LOGO_MAX_BYTES:
        return None, "The logo must be at most 1 MB"
    if content_type is None:
        return None, "The logo must be a PNG, JPEG or WebP image"
    return Logo(upload, content_type), None


def validate(
    form: Mapping[str, str],
    categories: Collection[str],
    logo_upload: bytes | None = None,
) -> FormResult:
    """Check every field; `business` is set only when all are valid."""
    values = shown(form)
    remove_logo = _ticked(form, "remove_logo")
    logo, logo_error = _logo(logo_upload)
    try:
        business = EnteredBusiness.model_validate(entered(form), context={"categories": categories})
    except ValidationError as error:
        errors = errors_by_field(error)
    else:
        errors = {}
    if logo_error:
        errors["logo"] = logo_error
    # An acceptable logo is kept even when other fields are refused (the portal holds it).
    return FormResult(
        values=values,
        errors=errors,
        business=None if errors else business,
        logo=logo,
        remove_logo=remove_logo,
    )


def refused_field(error: InvalidArgument) -> tuple[str, str]:
    """(field id, message) for the database's refusal of a form the model accepted."""
    if error.constraint in CONSTRAINT_FIELDS:
        return CONSTRAINT_FIELDS[error.constraint]
    return ("form", "We could not save these details: " + str(error))


def values_from_customer(row: Mapping[str, Any] | None) -> dict[str, Any]:
    """The form's initial values from the customer's stored business info."""
    row = row or {}
    values: dict[str, Any] = {name: row.get(name) or "" for name in (*TEXT_RULES, *_CHOSEN_FIELDS)}
    stored_hours = row.get("hours") or {}
    values["hours"] = {}
    for day, _ in WEEKDAYS:
        ranges = [
            (
                slot.get("open", ""),
                "00:00" if slot.get("close") == MIDNIGHT else slot.get("close", ""),
            )
            for slot in stored_hours.get(day, [])
        ][:RANGES_PER_DAY]
        ranges += [("", "")] * (RANGES_PER_DAY - len(ranges))
        values["hours"][day] = {
            "closed": day in stored_hours and not stored_hours[day],
            "ranges": ranges,
        }
    social = row.get("social_links") or {}
    values["social"] = {network: social.get(network, "") for network in SOCIAL_NETWORKS}
    stated = row.get("attributes") or {}
    values["attributes"] = {name: _answer(stated.get(name)) for name in ATTRIBUTES}
    return values


def error_order() -> list[str]:
    """Field ids in the order they appear on the page (the error summary lists them so)."""
    return [
        "business_name",
        "category",
        "street_address",
        "city",
        "region",
        "postal_code",
        "country",
        "phone",
        "website",
        "public_email",
        *(f"hours-{day}" for day, _ in WEEKDAYS),
        *(f"attr-{name}" for name in ATTRIBUTES),
        "logo",
        "tagline",
        "description",
        *(f"social-{network}" for network in SOCIAL_NETWORKS),
    ]
