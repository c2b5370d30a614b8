"""Whether a directory can take the business at all, decided before any browser starts.

A directory declares the countries whose businesses it lists, the countries whose phone
numbers its form takes and its own category list (directories.json). A business outside
them is never sent: a UK phone on a US-only site used to be retried until it timed out. A
recipe that requires a value the business does not have (a public email, say) is skipped
too: sending the sign-in address instead, or anything made up, would publish what the
customer never gave us for publishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import phonenumbers

from dbolt.business import Business
from dbolt.contracts import Outcome
from dbolt.refusals import (
    CATEGORY_UNMATCHED,
    COUNTRY_NOT_ACCEPTED,
    MISSING_BUSINESS_FIELD,
    PHONE_NOT_ACCEPTED,
    field_message,
)
from worker.business import field_value
from worker.outcome import AttemptResult
from worker.recipe import ACCOUNT_VALUES, Fill, RecipeError, Select, parse_recipe


def accepted_countries(directory: Mapping[str, Any]) -> list[str]:
    """The directory's `countries`, or its single older `country`; empty means any."""
    countries = list(directory.get("countries") or [])
    if not countries and directory.get("country"):
        countries = [str(directory["country"])]
    return countries


def phone_country(phone: str | None) -> str | None:
    """The country a stored (E.164) phone number belongs to, if it can be told."""
    if not phone:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None


def _required_missing(directory: Mapping[str, Any], business: Business) -> str | None:
    """The first business field a recipe requires that the business has no value for."""
    if directory.get("mode") != "recipe":
        return None
    try:
        recipe = parse_recipe(directory.get("recipe"))
    except RecipeError:
        return None  # the engine reports a malformed recipe as such
    for step in recipe.form_steps():
        if isinstance(step, Fill | Select) and not step.optional and step.value:
            if step.value in ACCOUNT_VALUES:
                continue
            if step.value == "logo_url":
                continue
            value = field_value(business, step.value)
            if value is None or value == "":
                return step.value
    return None


def refusal(directory: Mapping[str, Any], business: Business) -> AttemptResult | None:
    """Why the directory cannot take the business (a result to report as it is), or None."""
    countries = accepted_countries(directory)
    if countries and business.country not in countries:
        return AttemptResult(
            Outcome.skipped,
            error_code=COUNTRY_NOT_ACCEPTED,
            message=f"the directory lists businesses in {', '.join(countries)}; "
            f"this one is in {business.country or 'no country'}",
        )
    phone_countries = list(directory.get("phone_countries") or [])
    of_phone = phone_country(business.phone)
    if phone_countries and of_phone not in phone_countries:
        return AttemptResult(
            Outcome.skipped,
            error_code=PHONE_NOT_ACCEPTED,
            message=field_message(
                "phone",
                f"the directory takes phone numbers of {', '.join(phone_countries)}; "
                f"this one is of {of_phone or 'no known country'}",
            ),
        )
    category_map = directory.get("category_map") or {}
    if category_map and business.category not in category_map:
        return AttemptResult(
            Outcome.permanent_error,
            error_code=CATEGORY_UNMATCHED,
            message=field_message(
                "category",
                f"the directory's category map has no entry for {business.category!r}",
            ),
        )
    missing = _required_missing(directory, business)
    if missing is not None:
        return AttemptResult(
            Outcome.skipped,
            error_code=MISSING_BUSINESS_FIELD,
            message=field_message(missing, "the site requires it and the business has none"),
        )
    return None
