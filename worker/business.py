"""Values a recipe asks for, taken from the business snapshot through named transforms.

Pure functions: the same snapshot always fills the same text, so what a recipe sends can be
unit-tested and shown to ops by `dbolt submit` before a browser is involved. The fields and
weekdays are dbolt.business's (the one definition of the business record).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import phonenumbers

from dbolt.business import ATTRIBUTES, WEEKDAYS, Business
from dbolt.typed_values import country_name

# The fields a recipe may name as `value`: the snapshot's own, except the social links (no
# directory form takes them as one value), the attributes (a check step names one as
# `attribute`) and the logo, which a recipe calls `logo_url` (docs/recipes.md) while the
# snapshot names it by id.
VALUE_FIELDS: tuple[str, ...] = (
    *(
        name
        for name in Business.model_fields
        if name not in ("social_links", "attributes", "logo_id")
    ),
    "logo_url",
)
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(ATTRIBUTES)


def attribute_value(business: Business, name: str) -> bool | None:
    """What the customer said about one attribute: True, False or None (not said)."""
    value = getattr(business.attributes, name, None)
    return value if isinstance(value, bool) else None


class BusinessValueError(ValueError):
    """A recipe asked for a value the business does not have, or an unknown transform."""


def field_value(business: Business, name: str) -> object:
    """The named field's value, or None when the business has none (or no such field)."""
    return getattr(business, name, None) if name in Business.model_fields else None


def _phone(value: str, fmt: int) -> str:
    number = phonenumbers.parse(value, None)
    return phonenumbers.format_number(number, fmt)


def hours_text(business: Business) -> str:
    hours = business.hours
    parts = []
    for day, _ in WEEKDAYS:
        ranges = hours.of(day) if hours else []
        spans = ", ".join(f"{r.open}-{r.close}" for r in ranges) or "closed"
        parts.append(f"{day.capitalize()} {spans}")
    return "; ".join(parts)


def full_address(business: Business) -> str:
    region_postal = " ".join(p for p in (business.region, business.postal_code) if p)
    parts = [business.street_address, business.city, region_postal, business.country]
    return ", ".join(p for p in parts if p)


_STRING_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "phone_e164": lambda v: _phone(v, phonenumbers.PhoneNumberFormat.E164),
    "phone_national": lambda v: _phone(v, phonenumbers.PhoneNumberFormat.NATIONAL),
    "phone_international": lambda v: _phone(v, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    "phone_digits": lambda v: "".join(
        ch for ch in _phone(v, phonenumbers.PhoneNumberFormat.NATIONAL) if ch.isdigit()
    ),
    "country_name": country_name,
    "website_host": lambda v: urlsplit(v).hostname or v,
    "upper": str.upper,
    "lower": str.lower,
}
_DAYS = tuple(day for day, _ in WEEKDAYS)


def _day_transform(name: str, business: Business) -> str | None:
    # hours_<day>_open / hours_<day>_close / hours_<day>_closed
    parts = name.split("_")
    if len(parts) != 3 or parts[0] != "hours" or parts[1] not in _DAYS:
        return None
    ranges = business.hours.of(parts[1]) if business.hours else []
    if parts[2] == "closed":
        return "true" if not ranges else "false"
    if parts[2] == "open":
        return ranges[0].open if ranges else ""
    if parts[2] == "close":
        return ranges[0].close if ranges else ""
    return None


def resolve(
    business: Business, value: str | None, literal: str | None, transform: str | None
) -> str:
    """The text a step types or selects. Raises BusinessValueError naming what is missing."""
    if transform is not None:
        day = _day_transform(transform, business)
        if day is not None:
            return day
        if transform == "hours_text":
            return hours_text(business)
        if transform == "full_address":
            return full_address(business)
    if literal is not None:
        text = literal
    elif value is not None:
        if value not in VALUE_FIELDS:
            raise BusinessValueError(f"unknown business field {value!r}")
        raw = field_value(business, value)
        if raw is None or raw == "":
            raise BusinessValueError(f"the business has no {value}")
        text = hours_text(business) if value == "hours" else str(raw)
    else:
        raise BusinessValueError("a step needs value or literal")
    if transform is None:
        return text
    if transform not in _STRING_TRANSFORMS:
        raise BusinessValueError(f"unknown transform {transform!r}")
    return _STRING_TRANSFORMS[transform](text)


TRANSFORMS = (
    *sorted(_STRING_TRANSFORMS),
    "hours_text",
    "full_address",
    *(f"hours_{day}_{part}" for day in _DAYS for part in ("open", "close", "closed")),
)
