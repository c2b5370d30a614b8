"""Name, address and phone (NAP): what a directory shows of a business compared with what
the customer gave us, after normalising both sides the way citation services do (case,
punctuation, "Street"/"St", "&"/"and", legal suffixes, phone formats, postcode spacing).

One definition for the lookup before submitting (worker, found listed already?) and for the
live checks after it (is the listing up, and right?)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers

from dbolt.business import Business

NAP_FIELDS = ("name", "address", "phone")

_LEGAL_SUFFIXES = {"llc", "inc", "ltd", "limited", "co", "corp", "company", "plc", "pty", "llp"}
# Postal abbreviations (USPS, Royal Mail, Canada Post usage): both sides map to the short form.
_ADDRESS_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "lane": "ln", "drive": "dr",
    "boulevard": "blvd", "court": "ct", "place": "pl", "square": "sq", "terrace": "ter",
    "highway": "hwy", "parkway": "pkwy", "suite": "ste", "apartment": "apt", "unit": "unit",
    "floor": "fl", "building": "bldg", "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
    "crescent": "cres", "close": "cl", "mount": "mt", "saint": "st", "first": "1st",
    "second": "2nd", "third": "3rd",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _words(text: str) -> list[str]:
    return _WORD.findall(_plain(text).replace("&", " and ").replace("'", ""))


def normalise_name(name: str) -> str:
    words = [w for w in _words(name) if w not in _LEGAL_SUFFIXES]
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def normalise_address(text: str) -> str:
    return " ".join(_ADDRESS_WORDS.get(w, w) for w in _words(text))


def normalise_postcode(postcode: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _plain(postcode))


def normalise_phone(text: str, country: str | None) -> str | None:
    """E.164 of a number as a page shows it, or None when it is not a phone number."""
    try:
        number = phonenumbers.parse(text, (country or "US").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phones_in(text: str, country: str | None) -> set[str]:
    """Every phone number a page's text holds, in E.164. libphonenumber's own matcher finds
    them: a plain pattern ran a postcode and the phone after it into one "number"."""
    matcher = phonenumbers.PhoneNumberMatcher(
        text, (country or "US").upper(), leniency=phonenumbers.Leniency.POSSIBLE
    )
    return {
        phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164) for m in matcher
    }


@dataclass(frozen=True)
class NapMatch:
    """How a listing compares: the share of the compared fields that match (0 to 1), the
    fields that differ, and the fields the page did not show at all."""

    score: float
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.mismatched and not self.missing


def _street_and_postcode(business: Business) -> tuple[str, str]:
    return normalise_address(business.street_address or ""), normalise_postcode(
        business.postal_code or ""
    )


def _address_matches(business: Business, observed: str) -> bool:
    street, postcode = _street_and_postcode(business)
    seen = normalise_address(observed)
    seen_compact = seen.replace(" ", "")
    city = normalise_address(business.city or "")
    return (
        bool(street)
        and f" {street} " in f" {seen} "
        and (not postcode or postcode in seen_compact)
        and (not city or f" {city} " in f" {seen} ")
    )


def compare(business: Business, observed: dict[str, str]) -> NapMatch:
    """Compare the fields a page showed (`name`, `address`, `phone`; any may be absent)."""
    mismatched: list[str] = []
    missing: list[str] = []
    for name in NAP_FIELDS:
        seen = (observed.get(name) or "").strip()
        if not seen:
            missing.append(name)
            continue
        if name == "name":
            ok = normalise_name(seen) == normalise_name(business.business_name or "")
        elif name == "address":
            ok = _address_matches(business, seen)
        else:
            ok = normalise_phone(seen, business.country) == business.phone
        if not ok:
            mismatched.append(name)
    compared = len(NAP_FIELDS) - len(missing)
    score = (compared - len(mismatched)) / len(NAP_FIELDS) if compared else 0.0
    return NapMatch(round(score, 3), mismatched, missing)


def compare_text(business: Business, text: str) -> NapMatch:
    """Compare a whole page's text (no selectors): each field matches if the page holds it.
    A phone number on the page that is not the business's makes `phone` a mismatch; no phone
    at all makes it missing. The name missing means the listing is not on this page."""
    mismatched: list[str] = []
    missing: list[str] = []
    wanted_name = normalise_name(business.business_name or "")
    if not wanted_name or f" {wanted_name} " not in f" {normalise_name(text)} ":
        missing.append("name")
    if not _address_matches(business, text):
        street, _ = _street_and_postcode(business)
        (mismatched if street and street.split()[0] in normalise_address(text) else missing).append(
            "address"
        )
    phones = phones_in(text, business.country)
    if business.phone not in phones:
        (mismatched if phones else missing).append("phone")
    compared = len(NAP_FIELDS) - len(missing)
    score = (compared - len(mismatched)) / len(NAP_FIELDS) if compared else 0.0
    return NapMatch(round(score, 3), mismatched, missing)


def consistency(matches: list[NapMatch]) -> float | None:
    """The business's NAP consistency: the mean score over its checked listings (None when
    nothing was checked yet)."""
    return round(sum(m.score for m in matches) / len(matches), 3) if matches else None
