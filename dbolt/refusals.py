"""Why a directory could not take a business: the error codes and the one structured detail
a customer's words are built from (the field a site rejected).

The worker writes these (worker/eligibility.py, worker/recipe_runner.py); the portal turns
them into plain reasons (portal/reports/progress.py). The attempt's message stays staff text;
only a field name from FIELD_WORDS is ever read back out of it, so nothing a site or a
browser wrote reaches a customer.
"""

from __future__ import annotations

import re

# Skipped before any browser starts: the directory's declarations say it cannot take the
# business (directories.json countries / phone_countries).
COUNTRY_NOT_ACCEPTED = "country_not_accepted"
PHONE_NOT_ACCEPTED = "phone_not_accepted"
# None of the site's categories fits ours (its category_map, or the generic matcher).
CATEGORY_UNMATCHED = "category_unmatched"
# The site refused a value we sent (a field error on its page): permanent, names the field.
FIELD_REJECTED = "field_rejected"
# The site requires a value the business does not have (e.g. a public email).
MISSING_BUSINESS_FIELD = "missing_business_field"

# A business field as a customer calls it.
FIELD_WORDS: dict[str, str] = {
    "business_name": "business name",
    "street_address": "street address",
    "city": "city or town",
    "region": "state or region",
    "postal_code": "postal code",
    "country": "country",
    "phone": "phone number",
    "website": "website",
    "public_email": "public email address",
    "category": "category",
    "hours": "opening hours",
    "tagline": "tagline",
    "description": "description",
    "logo_url": "logo",
}
_LEADING_FIELD = re.compile(r"^(?P<field>[a-z_]+): ")


def field_message(field: str | None, detail: str) -> str:
    """A message that starts with the business field it is about (`phone: …`), when known."""
    return f"{field}: {detail}" if field in FIELD_WORDS else detail


def field_of(message: str | None) -> str | None:
    """The business field a message names first, if it is one we know; never other text."""
    match = _LEADING_FIELD.match(message or "")
    if match is None or match["field"] not in FIELD_WORDS:
        return None
    return match["field"]
