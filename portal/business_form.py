"""The Business Info Form's rules, applied on the server.

portal/static/business_form.js applies the same rules in the browser (the phone number is
checked there only for its shape: libphonenumber's metadata stays on the server, which
validates it for the chosen country and stores it as E.164). The database's constraints
(migration 20261129000300 and the category list of 20261129001900) are the last word; these
rules are stricter so a customer sees a message next to the field instead of a refusal.

Form field names (and the ids errors are keyed by) are the customers columns, plus
`hours-<day>-closed`, `hours-<day>-<n>-open|close`, `social-<network>`, `logo`, `remove_logo`.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

from dbolt.contracts import logo_id_of

WEEKDAYS: tuple[tuple[str, str], ...] = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
# Time ranges offered per day (e.g. a lunch break makes two); empty ones are ignored.
RANGES_PER_DAY = 3

# name -> (label, the only hosts accepted, with their subdomains)
SOCIAL_NETWORKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "facebook": ("Facebook", ("facebook.com", "fb.com")),
    "instagram": ("Instagram", ("instagram.com",)),
    "linkedin": ("LinkedIn", ("linkedin.com",)),
    "x": ("X (Twitter)", ("x.com", "twitter.com")),
    "youtube": ("YouTube", ("youtube.com", "youtu.be")),
    "tiktok": ("TikTok", ("tiktok.com",)),
}

# field -> (label, required, max length)
TEXT_FIELDS: dict[str, tuple[str, bool, int]] = {
    "business_name": ("Business name", True, 200),
    "street_address": ("Street address", True, 200),
    "city": ("City or town", True, 100),
    "region": ("State, county or region", True, 100),
    "postal_code": ("Postal code", True, 20),
    "tagline": ("Tagline", False, 160),
    "description": ("Description", False, 2000),
}
WEBSITE_MAX_LENGTH = 2048
PHONE_MAX_LENGTH = 30
POSTAL_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*[A-Za-z0-9]$")
TIME_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# "example.com:8080" has no scheme; "ftp://…" and "javascript:…" have one (and are refused).
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://|(javascript|data|mailto|file|tel|ftp):)", re.I)

LOGO_MAX_BYTES = 1024 * 1024
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}

COUNTRIES_FILE = Path(__file__).resolve().parent / "countries.json"


@functools.cache
def countries() -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 codes and names, sorted by name."""
    data = json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))
    return tuple((code, name) for code, name in data["countries"])


@functools.cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries())


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


@dataclass
class FormResult:
    """What was entered (to show again), the errors by field id, and what to store."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    business: dict[str, Any] | None = None
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


def _has_control_characters(text: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def normalise_url(raw: str, *, what: str = "web address", require_https: bool = False) -> str:
    """A URL with its scheme added (https) and host lowercased; ValueError says what is wrong."""
    text = raw.strip()
    example = f"Enter a {what} like example.com"
    if any(ch.isspace() for ch in text) or _has_control_characters(text):
        raise ValueError(f"The {what} must not contain spaces")
    if not _SCHEME.match(text):
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"The {what} must start with http:// or https://")
    if require_https and scheme == "http":
        scheme = "https"
    if "@" in parts.netloc:
        raise ValueError(f"The {what} must not contain a user name or password")
    try:
        port = parts.port
        host = (parts.hostname or "").rstrip(".")
        host = host.encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError):
        raise ValueError(example) from None
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError(example)
    if not (labels[-1].isalpha() or labels[-1].startswith("xn--")) or len(labels[-1]) < 2:
        raise ValueError(example)
    netloc = host if port is None else f"{host}:{port}"
    path = "" if parts.path == "/" and not parts.query and not parts.fragment else parts.path
    url = urlunsplit((scheme, netloc, path, parts.query, parts.fragment))
    if len(url) > WEBSITE_MAX_LENGTH:
        raise ValueError(f"The {what} must be at most {WEBSITE_MAX_LENGTH} characters")
    return url


def normalise_phone(raw: str, country: str | None) -> str:
    """The number in E.164 for the business's country; ValueError says what is wrong."""
    text = raw.strip()
    if len(text) > PHONE_MAX_LENGTH:
        raise ValueError(f"The phone number must be at most {PHONE_MAX_LENGTH} characters")
    if not country and not text.startswith("+"):
        raise ValueError("Choose the country first, or enter the number with its + country code")
    try:
        number = phonenumbers.parse(text, country or None)
    except phonenumbers.NumberParseException:
        raise ValueError("Enter a phone number, like 0161 496 0000 or +44 161 496 0000") from None
    if not phonenumbers.is_valid_number(number):
        where = f" in {dict(countries()).get(country, country)}" if country else ""
        raise ValueError(f"This is not a valid phone number{where}: check the digits and the code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _validate_day(
    form: Mapping[str, str], day: str, label: str
) -> tuple[dict[str, Any], list[dict[str, str]] | None, str | None]:
    """(values to show again, ranges to store or None, error or None) for one weekday."""
    closed = form.get(f"hours-{day}-closed", "") in ("on", "1", "true")
    entered = [
        (
            form.get(f"hours-{day}-{n}-open", "").strip(),
            form.get(f"hours-{day}-{n}-close", "").strip(),
        )
        for n in range(RANGES_PER_DAY)
    ]
    shown = {"closed": closed, "ranges": entered}
    if closed:
        return shown, [], None
    ranges: list[tuple[int, int, str, str]] = []
    for opens, closes in entered:
        if not opens and not closes:
            continue
        if not opens or not closes:
            return shown, None, f"{label}: enter both an opening and a closing time"
        if not TIME_PATTERN.match(opens) or not TIME_PATTERN.match(closes):
            return shown, None, f"{label}: times must be written as HH:MM, like 09:00"
        # Closing at midnight is 24:00 (a range ends after it starts on the same day).
        stored_close = "24:00" if closes == "00:00" else closes
        start, end = _minutes(opens), _minutes(stored_close)
        if start >= end:
            return shown, None, f"{label}: the closing time must be after the opening time"
        ranges.append((start, end, opens, stored_close))
    if not ranges:
        return shown, None, f"{label}: enter the opening hours or tick Closed"
    ranges.sort()
    for (_, end, _, _), (start, _, _, _) in itertools.pairwise(ranges):
        if start < end:
            return shown, None, f"{label}: the time ranges overlap"
    return shown, [{"open": o, "close": c} for _, _, o, c in ranges], None


def validate(
    form: Mapping[str, str],
    categories: Collection[str],
    logo_upload: bytes | None = None,
) -> FormResult:
    """Check every field; `business` (the customers columns) is set only when all are valid."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    business: dict[str, Any] = {}

    for name, (label, required, limit) in TEXT_FIELDS.items():
        text = form.get(name, "")
        text = (
            text.replace("\r\n", "\n").strip() if name == "description" else " ".join(text.split())
        )
        values[name] = text
        if not text:
            if required:
                errors[name] = f"Enter the {label.lower()}"
            continue
        if _has_control_characters(text, allow_newlines=name == "description"):
            errors[name] = f"The {label.lower()} contains characters that cannot be stored"
        elif len(text) > limit:
            errors[name] = (
                f"The {label.lower()} must be at most {limit} characters (it has {len(text)})"
            )
        elif name == "business_name" and len(text) < 2:
            errors[name] = "The business name must be at least 2 characters"
        elif name == "postal_code" and not POSTAL_CODE_PATTERN.match(text):
            errors[name] = "The postal code may only contain letters, digits, spaces and hyphens"
        else:
            business[name] = text.upper() if name == "postal_code" else text

    country = form.get("country", "").strip().upper()
    values["country"] = country
    if not country:
        errors["country"] = "Choose the country"
    elif country not in country_codes():
        errors["country"] = "Choose a country from the list"
    else:
        business["country"] = country

    phone = form.get("phone", "").strip()
    values["phone"] = phone
    if not phone:
        errors["phone"] = "Enter the phone number"
    elif "country" in errors and not phone.startswith("+"):
        # A national number can only be checked against its country: that error comes first.
        pass
    else:
        try:
            business["phone"] = normalise_phone(phone, business.get("country"))
        except ValueError as error:
            errors["phone"] = str(error)

    website = form.get("website", "").strip()
    values["website"] = website
    if not website:
        errors["website"] = "Enter the website"
    else:
        try:
            business["website"] = normalise_url(website, what="website address")
        except ValueError as error:
            errors["website"] = str(error)

    category = form.get("category", "").strip()
    values["category"] = category
    if not category:
        errors["category"] = "Choose the category"
    elif category not in categories:
        errors["category"] = "Choose a category from the list"
    else:
        business["category"] = category

    hours: dict[str, list[dict[str, str]]] = {}
    values["hours"] = {}
    for day, label in WEEKDAYS:
        shown, ranges, day_error = _validate_day(form, day, label)
        values["hours"][day] = shown
        if day_error:
            errors[f"hours-{day}"] = day_error
        elif ranges is not None:
            hours[day] = ranges
    if len(hours) == len(WEEKDAYS):
        if not any(hours.values()):
            errors["hours-mon"] = "Enter the opening hours of at least one day"
        else:
            business["hours"] = hours

    social: dict[str, str] = {}
    values["social"] = {}
    for network, (label, hosts) in SOCIAL_NETWORKS.items():
        raw = form.get(f"social-{network}", "").strip()
        values["social"][network] = raw
        if not raw:
            continue
        try:
            url = normalise_url(raw, what=f"{label} address", require_https=True)
        except ValueError as error:
            errors[f"social-{network}"] = str(error)
            continue
        host = urlsplit(url).hostname or ""
        if not any(host == h or host.endswith("." + h) for h in hosts):
            errors[f"social-{network}"] = f"The {label} address must be on {' or '.join(hosts)}"
        else:
            social[network] = url
    business["social_links"] = social

    remove_logo = form.get("remove_logo", "") in ("on", "1", "true")
    logo: Logo | None = None
    if logo_upload:
        content_type = sniff_image(logo_upload)
        if len(logo_upload) > LOGO_MAX_BYTES:
            errors["logo"] = "The logo must be at most 1 MB"
        elif content_type is None:
            errors["logo"] = "The logo must be a PNG, JPEG or WebP image"
        else:
            logo = Logo(logo_upload, content_type)

    if errors:
        return FormResult(values=values, errors=errors, remove_logo=remove_logo)
    return FormResult(values=values, business=business, logo=logo, remove_logo=remove_logo)


def values_from_customer(row: Mapping[str, Any] | None) -> dict[str, Any]:
    """The form's initial values from the customer's stored business info."""
    row = row or {}
    values: dict[str, Any] = {
        name: row.get(name) or ""
        for name in (*TEXT_FIELDS, "country", "phone", "website", "category")
    }
    stored_hours = row.get("hours") or {}
    values["hours"] = {}
    for day, _ in WEEKDAYS:
        ranges = [
            (
                slot.get("open", ""),
                "00:00" if slot.get("close") == "24:00" else slot.get("close", ""),
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
        *(f"hours-{day}" for day, _ in WEEKDAYS),
        "logo",
        "tagline",
        "description",
        *(f"social-{network}" for network in SOCIAL_NETWORKS),
    ]
