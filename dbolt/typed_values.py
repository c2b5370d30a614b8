"""What a person types, made into what is stored: web addresses, phone numbers, countries.

dbolt/business.py applies these to the business record; the limits here are the ones the
portal hands to the browser (portal/templates/business.html).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

WEBSITE_MAX_LENGTH = 2048
PHONE_MAX_LENGTH = 30
# A plain email address as the database checks it (customers_public_email_is_an_address,
# migration 20261205000600): directories publish it and our emails print it, so only the
# characters of an ordinary mailbox and a host name (ASCII; an international domain in its
# xn-- form) - no spaces, commas, quotes, angle brackets, control or bidi characters that
# could make it read as something else. Written so Python and the browser's RegExp read it
# alike.
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9._%+\-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9\-]{1,59})$"
)
EMAIL_MAX_LENGTH = 254

HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# "example.com:8080" has no scheme; "ftp://…" and "javascript:…" have one (and are refused).
URL_SCHEME = re.compile(
    r"^([A-Za-z][A-Za-z0-9+.-]*://|(javascript|data|mailto|file|tel|ftp):)", re.I
)


# -- Countries -------------------------------------------------------------------------------

COUNTRIES_FILE = Path(__file__).resolve().parent / "countries.json"


@functools.cache
def countries() -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 codes and names, sorted by name."""
    data = json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))
    return tuple((code, name) for code, name in data["countries"])


@functools.cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries())


def country_name(code: str) -> str:
    """The country's name, or the code itself when it names none we know."""
    return dict(countries()).get(code.upper(), code)


def has_control_characters(text: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def normalise_url(raw: str, *, what: str = "web address", require_https: bool = False) -> str:
    """A URL with its scheme added (https) and host lowercased; ValueError says what is wrong."""
    text = raw.strip()
    example = f"Enter a {what} like example.com"
    if any(ch.isspace() for ch in text) or has_control_characters(text):
        raise ValueError(f"The {what} must not contain spaces")
    if not URL_SCHEME.match(text):
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
    if len(labels) < 2 or not all(HOST_LABEL.match(label) for label in labels):
        raise ValueError(example)
    if not (labels[-1].isalpha() or labels[-1].startswith("xn--")) or len(labels[-1]) < 2:
        raise ValueError(example)
    netloc = host if port is None else f"{host}:{port}"
    path = "" if parts.path == "/" and not parts.query and not parts.fragment else parts.path
    url = urlunsplit((scheme, netloc, path, parts.query, parts.fragment))
    if len(url) > WEBSITE_MAX_LENGTH:
        raise ValueError(f"The {what} must be at most {WEBSITE_MAX_LENGTH} characters")
    return url


# The server's words for a phone number it refuses; the browser gets them with the rules it
# checks by (dbolt/phone_rules.py writes both into portal/static/phone_rules.js).
PHONE_MESSAGES = {
    "too_long": "The phone number must be at most {limit} characters",
    "no_country": "Choose the country first, or enter the number with its + country code",
    "not_a_number": "Enter a phone number, like {national} or {international}",
    "not_valid": "This is not a valid phone number{where}: check the digits and the code",
}
# Where phonenumbers has no example for the country (or none is chosen).
FALLBACK_PHONE_EXAMPLE = ("0161 496 0000", "+44 161 496 0000")


def phone_example(country: str | None) -> tuple[str, str]:
    """A number of the country as dialled there and with its + code, for messages."""
    example = phonenumbers.example_number(country) if country else None
    if example is None:
        return FALLBACK_PHONE_EXAMPLE
    return (
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    )


def normalise_phone(raw: str, country: str | None) -> str:
    """The number in E.164 for the business's country; ValueError says what is wrong."""
    text = raw.strip()
    if len(text) > PHONE_MAX_LENGTH:
        raise ValueError(PHONE_MESSAGES["too_long"].format(limit=PHONE_MAX_LENGTH))
    if not country and not text.startswith("+"):
        raise ValueError(PHONE_MESSAGES["no_country"])
    try:
        number = phonenumbers.parse(text, country or None)
    except phonenumbers.NumberParseException:
        national, international = phone_example(country)
        message = PHONE_MESSAGES["not_a_number"]
        raise ValueError(message.format(national=national, international=international)) from None
    if not phonenumbers.is_valid_number(number):
        where = f" in {country_name(country)}" if country else ""
        raise ValueError(PHONE_MESSAGES["not_valid"].format(where=where))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
