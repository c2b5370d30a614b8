"""Name, address and phone compare the way a person would read two listings: formats and
abbreviations do not matter, a different digit does."""

from __future__ import annotations

import pytest

from dbolt.business import Business
from dbolt.nap import compare, compare_text, consistency, normalise_name, phones_in

BAKERY = Business(
    business_name="Bluebird Bakery LLC",
    street_address="12 Orchard Lane",
    city="Springfield",
    region="IL",
    postal_code="62701",
    country="US",
    phone="+12175550123",
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Bluebird Bakery LLC", "The Bluebird Bakery"),
        ("Smith & Sons", "SMITH AND SONS"),
        ("Café Zoë", "cafe zoe"),
    ],
)
def test_names_that_a_person_reads_as_the_same_normalise_alike(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_the_same_listing_in_other_formats_matches() -> None:
    match = compare(
        BAKERY,
        {
            "name": "The Bluebird Bakery",
            "address": "12 Orchard Ln., Springfield, IL 62701",
            "phone": "(217) 555-0123",
        },
    )
    assert match.matches
    assert match.score == 1.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Redbird Bakery"),
        ("address", "14 Orchard Ln, Springfield, IL 62701"),
        ("phone", "217-555-0199"),
    ],
)
def test_one_wrong_field_is_named(field: str, value: str) -> None:
    observed = {"name": "Bluebird Bakery", "address": "12 Orchard Lane Springfield IL 62701"}
    observed["phone"] = "+1 217 555 0123"
    observed[field] = value
    match = compare(BAKERY, observed)
    assert match.mismatched == [field]
    assert match.score == pytest.approx(0.667, abs=0.001)


def test_a_field_the_page_does_not_show_is_missing_not_wrong() -> None:
    match = compare(BAKERY, {"name": "Bluebird Bakery"})
    assert match.missing == ["address", "phone"]
    assert not match.mismatched
    assert not match.matches


def test_a_whole_page_names_a_wrong_phone_and_finds_no_listing_on_an_empty_one() -> None:
    page = "Bluebird Bakery · 12 Orchard Lane, Springfield, IL 62701 · Call 217.555.0999"
    assert compare_text(BAKERY, page).mismatched == ["phone"]
    assert compare_text(BAKERY, page.replace("0999", "0123")).matches
    assert "name" in compare_text(BAKERY, "No results for your search").missing


def test_phones_in_text_come_out_in_e164() -> None:
    assert phones_in("call (217) 555-0123 or +44 161 496 0000", "US") == {
        "+12175550123",
        "+441614960000",
    }


def test_consistency_is_the_mean_score() -> None:
    good = compare(BAKERY, {"name": "Bluebird Bakery", "phone": "2175550123", "address": ""})
    assert consistency([]) is None
    assert consistency([good, good]) == good.score
