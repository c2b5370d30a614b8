"""Values a recipe asks for, taken from the business snapshot through named transforms.

Pure functions: the same snapshot always fills the same text, so what a recipe sends can be
unit-tested and shown to ops by `dbolt submit` before a browser is involved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUSINESS_FIELDS = (
    "business_name",
    "street_address",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
    "website",
    "category",
    "email",
    "tagline",
    "description",
    "logo_url",
    "hours",
)
COUNTRY_NAMES = {
    "US": "United States",
    "GB": "United Kingdom",
    "CA": "Canada",
    "AU": "Australia",
    "IE": "Ireland",
    "NZ": "New Zealand",
    "DE": "Germany",
    "FR": "France",
}


class BusinessValueError(ValueError):
    """A recipe asked for a value the business does not have, or an unknown transform."""


def _phone(value: str, fmt: int) -> str:
    number = phonenumbers.parse(value, None)
    return phonenumbers.format_number(number, fmt)


def _hours(business: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    hours = business.get("hours") or {}
    return {day: list(hours.get(day) or []) for day in WEEKDAYS}


def hours_text(business: dict[str, Any]) -> str:
    parts = []
    for day, ranges in _hours(business).items():
        spans = ", ".join(f"{r['open']}-{r['close']}" for r in ranges) or "closed"
        parts.append(f"{day.capitalize()} {spans}")
    return "; ".join(parts)


def full_address(business: dict[str, Any]) -> str:
    region_postal = " ".join(p for p in (business.get("region"), business.get("postal_code")) if p)
    parts = [
        business.get("street_address"),
        business.get("city"),
        region_postal,
        business.get("country"),
    ]
    return ", ".join(p for p in parts if p)


_STRING_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "phone_e164": lambda v: _phone(v, phonenumbers.PhoneNumberFormat.E164),
    "phone_national": lambda v: _phone(v, phonenumbers.PhoneNumberFormat.NATIONAL),
    "phone_international": lambda v: _phone(v, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    "phone_digits": lambda v: "".join(
        ch for ch in _phone(v, phonenumbers.PhoneNumberFormat.NATIONAL) if ch.isdigit()
    ),
    "country_name": lambda v: COUNTRY_NAMES.get(v.upper(), v),
    "website_host": lambda v: urlsplit(v).hostname or v,
    "upper": str.upper,
    "lower": str.lower,
}


def _day_transform(name: str, business: dict[str, Any]) -> str | None:
    # hours_<day>_open / hours_<day>_close / hours_<day>_closed
    parts = name.split("_")
    if len(parts) != 3 or parts[0] != "hours" or parts[1] not in WEEKDAYS:
        return None
    ranges = _hours(business)[parts[1]]
    if parts[2] == "closed":
        return "true" if not ranges else "false"
    if parts[2] in ("open", "close"):
        return ranges[0][parts[2]] if ranges else ""
    return None


def resolve(
    business: dict[str, Any], value: str | None, literal: str | None, transform: str | None
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
        if value not in BUSINESS_FIELDS:
            raise BusinessValueError(f"unknown business field {value!r}")
        raw = business.get(value)
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
    *(f"hours_{day}_{part}" for day in WEEKDAYS for part in ("open", "close", "closed")),
)
