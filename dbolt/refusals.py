"""Why a directory did not take a business: the error codes, the one structured detail a
customer's words are built from (the field a site rejected), and those words.

The worker writes the codes (worker/outcome.py, worker/eligibility.py,
worker/recipe_runner.py); the portal's pages and reports (portal/reports/progress.py
re-exports these) and the webhook's emails say the reasons. The attempt's message stays
staff text: only a field name from FIELD_WORDS is ever read back out of it, so nothing a
site or a browser wrote reaches a customer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dbolt.typed_values import country_name

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


# What a worker's error code means for the customer (worker/outcome.py and this module name
# the codes): the portal's pages, reports and the webhook's emails all say these.
ERROR_REASONS: dict[str, str] = {
    "timeout": "the site took too long to answer",
    "captcha_unsolved": "the site's captcha could not be solved",
    "proxy_error": "a network problem on the way to the site",
    "connection_error": "the site could not be reached",
    "connection_refused": "the site could not be reached",
    "dns_error": "the site's address could not be found",
    "rate_limited": "the site asked us to slow down",
    "site_down": "the site is down",
    "site_unavailable": "the site is down",
    "site_gateway_error": "the site's server did not answer properly",
    "duplicate_listing": "the site already lists your business",
    "form_gone": "the site's sign-up form is no longer there",
    "recipe_drift": "the site's form changed; our team will update how we fill it in",
    "recipe_invalid": "the site's form changed; our team will update how we fill it in",
    "form_unfillable": "the site's form asks for something we could not fill in",
    "missing_business_field": "the site needs a detail your business info does not have",
    "upload_unavailable": "the site's logo upload did not work",
    "browser_error": "our browser failed on this site",
    "blocked_destination": "the site tried to send us to an address we do not visit",
    # Said with the business's own details where the row has them (directory_reason).
    "country_not_accepted": "the site does not list businesses in your country",
    "phone_not_accepted": "the site does not take phone numbers from your country",
    "category_unmatched": "none of the site's categories fit your business",
    "field_rejected": "the site did not accept one of your details",
    "already_listed": "the site already lists your business",
    "category_refused": "the site does not list businesses of your kind",
    # Staff checked a directory needing review or action (jobs_mark_failed); their reason is
    # for staff only.
    "review_failed": "our team checked, and the directory did not accept it",
    # The worker stopped before sending the form (its submit fence was refused).
    "not_submitted": "we stopped before sending your details; it will be tried again",
}


def error_reason(code: str | None) -> str | None:
    if not code:
        return None
    return ERROR_REASONS.get(code, f"the site refused the submission ({code})")


def _country_words(code: str) -> str:
    name = country_name(code)
    return f"the {name}" if name.startswith(("United ", "Netherlands", "Philippines")) else name


def _phone_words(codes: Sequence[str]) -> str:
    return " or ".join({"US": "US", "GB": "UK"}.get(code, country_name(code)) for code in codes)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def directory_reason(row: Mapping[str, Any], job: Mapping[str, Any]) -> str | None:
    """Why a directory did not take the business, in plain words built only from known
    details (the business's country and category, the directory's declarations, a field
    name from dbolt.refusals.FIELD_WORDS): never from what a site or a browser wrote."""
    code = row.get("last_error_code")
    if not code:
        return None
    # The customer's own rows carry only the field (last_rejected_field, the staff-only
    # message's first word); the notifier reads the message as the service role.
    stated = row.get("last_rejected_field")
    field = stated if stated in FIELD_WORDS else field_of(row.get("last_message"))
    country = job.get("business_country")
    if code == COUNTRY_NOT_ACCEPTED and country:
        return f"the site does not list businesses in {_country_words(str(country))}"
    if code == PHONE_NOT_ACCEPTED and row.get("phone_countries"):
        return f"the site asked for {_a(_phone_words(row['phone_countries']))} phone number"
    if code == CATEGORY_UNMATCHED and job.get("business_category_label"):
        category = str(job["business_category_label"]).lower()
        return f"none of the site's categories fit {_a(category)}"
    if code == FIELD_REJECTED and field:
        return f"the site did not accept your {FIELD_WORDS[field]}"
    if code == MISSING_BUSINESS_FIELD and field:
        return (
            f"the site requires your {FIELD_WORDS[field]}, "
            "which your business details do not include"
        )
    return error_reason(code)
