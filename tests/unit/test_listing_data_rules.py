"""The worker's rules for what a listing may carry, without a browser: the category matcher
(plurals, synonyms, parents, and no guess), eligibility before a browser starts (country,
phone country, category map, a required value the business lacks), and check steps that may
tick a box only from the business."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dbolt.business import ATTRIBUTES, Business
from dbolt.contracts import Outcome
from dbolt.refusals import field_of
from tests.support.sample_business import sample_business
from worker.automap import FieldInfo, guess_field, plan
from worker.categories import VOCABULARY, match_category, normalise
from worker.eligibility import refusal
from worker.outcome import AttemptFailed
from worker.recipe import RecipeError, parse_recipe

SITE = (
    ("", "Choose a category…"),
    ("12", "Bakeries"),
    ("13", "Coffee & Tea"),
    ("20", "Plumbing & Heating"),
    ("30", "Home Services"),
    ("40", "Restaurants"),
    ("99", "Other"),
)


def _business(**changes: Any) -> Business:
    return Business.model_validate(sample_business(**changes))


# -- the category matcher ------------------------------------------------------------------


def test_a_plural_option_is_our_category() -> None:
    found = match_category("bakery", SITE)
    assert found is not None
    assert (found.value, found.how) == ("12", "name")


def test_a_synonym_is_our_category() -> None:
    found = match_category("cafe", SITE)  # "Coffee & Tea": coffee is a cafe's other name
    assert found is not None
    assert (found.value, found.how) == ("13", "contains")


def test_an_option_naming_our_trade_wins_over_its_parent() -> None:
    found = match_category("plumber", SITE)
    assert found is not None
    assert (found.value, found.how) == ("20", "contains")


def test_a_parent_category_when_the_site_has_nothing_closer() -> None:
    found = match_category("electrician", SITE)
    assert found is not None
    assert (found.value, found.how) == ("30", "parent")


def test_no_confident_match_is_none_never_the_first_or_other() -> None:
    assert match_category("tattoo-studio", SITE) is None
    # Two options equally good: not confident either.
    assert match_category("bakery", (("1", "Bakery"), ("2", "Bakeries"))) is None


def test_normalising_handles_accents_ampersands_and_plurals() -> None:
    assert normalise("Cafés & Bakeries") == "cafe and bakery"
    assert normalise("Beauty & Spas") == "beauty and spa"


def test_every_category_the_form_offers_has_a_vocabulary() -> None:
    migration = Path("supabase/migrations/20261129001900_customer_business_form.sql").read_text()
    slugs = set(re.findall(r"\('([a-z0-9-]+)', '[^']+', \d+\)", migration))
    assert slugs
    assert slugs <= set(VOCABULARY)


def test_the_generic_filler_fails_a_category_it_cannot_match() -> None:
    select = FieldInfo(index=0, tag="select", label="Category", options=SITE)
    planned, _ = plan([select], _business(category="plumber"), "United States")
    assert planned[0].value == "20"
    with pytest.raises(AttemptFailed) as failed:
        plan([select], _business(category="tattoo-studio"), "United States")
    assert failed.value.error_code == "category_unmatched"
    assert field_of(failed.value.message) == "category"
    # A directory's own map is used first.
    planned, _ = plan([select], _business(category="locksmith"), "US", {"locksmith": "30"})
    assert planned[0].value == "30"


# -- eligibility, before any browser -------------------------------------------------------


def test_a_business_outside_the_directory_s_countries_is_skipped() -> None:
    directory = {"countries": ["US"]}
    skipped = refusal(directory, _business(country="GB", phone="+442079460000"))
    assert skipped is not None
    assert (skipped.outcome, skipped.error_code) == (Outcome.skipped, "country_not_accepted")
    assert refusal(directory, _business()) is None
    # The older single `country` says the same.
    old = refusal({"country": "GB"}, _business())
    assert old is not None
    assert old.error_code == "country_not_accepted"


def test_a_phone_from_another_country_is_skipped_naming_the_phone() -> None:
    directory = {"countries": ["US"], "phone_countries": ["US"]}
    skipped = refusal(directory, _business(phone="+442079460000"))
    assert skipped is not None
    assert (skipped.outcome, skipped.error_code) == (Outcome.skipped, "phone_not_accepted")
    assert field_of(skipped.message) == "phone"


def test_a_category_missing_from_the_directory_s_map_is_category_unmatched() -> None:
    failed = refusal({"category_map": {"bakery": "Bakeries"}}, _business(category="plumber"))
    assert failed is not None
    assert (failed.outcome, failed.error_code) == (Outcome.permanent_error, "category_unmatched")


def test_a_required_public_email_the_business_lacks_skips_the_directory() -> None:
    recipe: dict[str, list[dict[str, Any]]] = {
        "steps": [
            {"action": "fill", "selector": "#email", "value": "public_email"},
            {"action": "submit", "selector": "button"},
        ]
    }
    skipped = refusal({"mode": "recipe", "recipe": recipe}, _business(public_email=None))
    assert skipped is not None
    assert (skipped.outcome, skipped.error_code) == (Outcome.skipped, "missing_business_field")
    assert field_of(skipped.message) == "public_email"
    recipe["steps"][0]["optional"] = True
    assert refusal({"mode": "recipe", "recipe": recipe}, _business(public_email=None)) is None


# -- check steps tick only from the business -------------------------------------------------


def test_a_check_step_with_a_constant_is_refused() -> None:
    with pytest.raises(RecipeError, match="exactly one of: attribute"):
        parse_recipe({"steps": [{"action": "check", "selector": "#service-takeaway"}]})
    with pytest.raises(RecipeError, match=r"check\.literal: Extra inputs are not permitted"):
        parse_recipe({"steps": [{"action": "check", "selector": "#x", "literal": True}]})
    with pytest.raises(RecipeError, match="attribute must be one of"):
        parse_recipe({"steps": [{"action": "check", "selector": "#x", "attribute": "pizza"}]})
    parsed = parse_recipe(
        {
            "steps": [
                {"action": "check", "selector": "#t", "attribute": "takeaway"},
                {"action": "check", "selector": "#terms", "consent": True},
                {
                    "action": "check",
                    "selector": "#c",
                    "value": "hours",
                    "transform": "hours_sun_closed",
                },
            ]
        }
    )
    assert len(parsed.form_steps()) == 3


def test_every_recipe_in_the_catalogue_ticks_only_from_the_business() -> None:
    document = json.loads(Path("directories.json").read_text())
    for entry in document["directories"]:
        if entry.get("recipe"):
            parse_recipe(entry["recipe"])  # raises on a constant tick
            phases = entry["recipe"].get("phases", {}).values()
            steps = [
                *entry["recipe"].get("steps", []),
                *(s for p in phases for s in p.get("steps", [])),
            ]
            for step in steps:
                if step["action"] == "check" and "attribute" in step:
                    assert step["attribute"] in ATTRIBUTES


def test_a_field_error_is_traced_to_its_business_field() -> None:
    assert guess_field("Phone: enter a US phone number with its area code") == "phone"
    assert guess_field("ZIP code: enter a 5-digit US ZIP code") == "postal_code"
    assert guess_field("Favourite colour: required") is None
