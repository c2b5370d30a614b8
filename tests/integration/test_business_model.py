"""The one business definition (dbolt/business.py): normalisation of phone, website and text,
opening hours, limits, a snapshot from older rows still parsing, the wire contract's logo by
id, and the database's constraint refusals mapped to form fields by constraint name (real
Postgres errors)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import ValidationError

from dbolt.business import (
    MIDNIGHT,
    SOCIAL_NETWORKS,
    TEXT_RULES,
    WEEKDAYS,
    Business,
    EnteredBusiness,
)
from dbolt.contracts import Assignment
from dbolt.sql import InvalidArgument, translate_errors
from dbolt.typed_values import country_name, normalise_phone, normalise_url
from portal.business_form import CONSTRAINT_FIELDS, errors_by_field, refused_field

CATEGORIES = {"bakery", "cafe"}
LOGO_ID = "0b7e8a34-6f1d-4c55-9d0e-2a1b3c4d5e6f.png"


def week(**days: list[dict[str, str]] | None) -> dict[str, list[dict[str, str]] | None]:
    return {day: days.get(day, []) for day, _ in WEEKDAYS}


def entry(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "business_name": "Bluebird  Bakery",
        "street_address": "12 Orchard Lane",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "sw1a 1aa",
        "country": "gb",
        "phone": "020 7946 0000",
        "website": "Bluebird.EXAMPLE/",
        "category": "bakery",
        "hours": week(mon=[{"open": "09:00", "close": "17:00"}]),
        "social_links": {"instagram": "http://instagram.com/bluebird", "x": ""},
    }
    data.update(changes)
    return data


def refusals(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        EnteredBusiness.model_validate(entry(**changes), context={"categories": CATEGORIES})
    return errors_by_field(refused.value)


def test_an_entry_is_normalised_for_storing() -> None:
    business = EnteredBusiness.model_validate(entry(), context={"categories": CATEGORIES})
    assert business.model_dump(mode="json") == {
        "business_name": "Bluebird Bakery",
        "street_address": "12 Orchard Lane",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "SW1A 1AA",
        "country": "GB",
        "phone": "+442079460000",
        "website": "https://bluebird.example",
        "category": "bakery",
        "hours": week(mon=[{"open": "09:00", "close": "17:00"}]),
        # Empty links are left out, and http becomes https.
        "social_links": {"instagram": "https://instagram.com/bluebird"},
        # Nothing said about what it offers.
        "attributes": {},
    }


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("example.com", "https://example.com"),
        ("HTTP://Example.COM/", "http://example.com"),
        ("https://bäckerei.example/menu?x=1", "https://xn--bckerei-5wa.example/menu?x=1"),
        ("example.com:8080/a", "https://example.com:8080/a"),
    ],
)
def test_web_addresses_are_normalised(raw: str, normalised: str) -> None:
    assert normalise_url(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("ftp://example.com", "must start with http:// or https://"),
        ("https://me:pw@example.com", "user name or password"),
        ("exa mple.com", "must not contain spaces"),
        ("localhost", "like example.com"),
        ("-bad.example", "like example.com"),
        ("example.com/" + "a" * 2048, "at most 2048 characters"),
    ],
)
def test_bad_web_addresses_say_what_is_wrong(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalise_url(raw)


def test_phone_numbers_become_e164_for_their_country() -> None:
    assert normalise_phone("(217) 555-0123", "US") == "+12175550123"
    assert normalise_phone("+44 20 7946 0000", None) == "+442079460000"
    with pytest.raises(ValueError, match="not a valid phone number in United States"):
        normalise_phone("0161 496 0000", "US")
    with pytest.raises(ValueError, match="at most 30 characters"):
        normalise_phone("1" * 31, "US")
    with pytest.raises(ValueError, match="Choose the country first"):
        normalise_phone("0161 496 0000", None)


def test_each_field_is_refused_with_its_message() -> None:
    assert refusals(
        business_name="B",
        street_address=" ",
        city="c" * (TEXT_RULES["city"].max_length + 1),
        postal_code="62701!",
        website="bakery",
        category="bakeries",
        tagline="t" * 161,
        description="Line\x00",
        social_links={"facebook": "https://evil.example/page"},
    ) == {
        "business_name": "The business name must be at least 2 characters",
        "street_address": "Enter the street address",
        "city": "The city or town must be at most 100 characters (it has 101)",
        "postal_code": "The postal code may only contain letters, digits, spaces and hyphens",
        "website": "Enter a website address like example.com",
        "category": "Choose a category from the list",
        "tagline": "The tagline must be at most 160 characters (it has 161)",
        "description": "The description contains characters that cannot be stored",
        "social-facebook": "The Facebook address must be on facebook.com or fb.com",
    }


def test_a_national_number_waits_for_the_country() -> None:
    # The country's error is the one shown; the number cannot be judged without it.
    assert refusals(country="", phone="020 7946 0000") == {"country": "Choose the country"}
    assert refusals(country="XX", phone="+1 217 555") == {
        "country": "Choose a country from the list",
        "phone": "This is not a valid phone number: check the digits and the code",
    }


def test_opening_hours_each_day_on_its_own() -> None:
    assert refusals(
        hours=week(
            mon=None,
            tue=[{"open": "09:00", "close": ""}],
            wed=[{"open": "18:00", "close": "09:00"}],
            thu=[{"open": "7am", "close": "17:00"}],
            fri=[{"open": "09:00", "close": "13:00"}, {"open": "12:00", "close": "17:00"}],
        )
    ) == {
        "hours-mon": "Monday: enter the opening hours or tick Closed",
        "hours-tue": "Tuesday: enter both an opening and a closing time",
        "hours-wed": "Wednesday: the closing time must be after the opening time",
        "hours-thu": "Thursday: times must be written as HH:MM, like 09:00",
        "hours-fri": "Friday: the time ranges overlap",
    }
    assert refusals(hours=week()) == {"hours-mon": "Enter the opening hours of at least one day"}


def test_opening_hours_are_sorted_and_midnight_is_stored_as_24_00() -> None:
    business = EnteredBusiness.model_validate(
        entry(
            hours=week(
                fri=[{"open": "18:00", "close": "00:00"}, {"open": "08:00", "close": "12:00"}]
            )
        ),
        context={"categories": CATEGORIES},
    )
    assert business.hours is not None
    assert [(r.open, r.close) for r in business.hours.fri] == [
        ("08:00", "12:00"),
        ("18:00", MIDNIGHT),
    ]


def test_a_snapshot_from_older_rows_still_parses() -> None:
    # Only what the database guarantees: nulls stripped, no form-level rules re-applied.
    old = Business.model_validate(
        {"business_name": "B", "phone": "+15555550100", "hours": {"mon": []}, "legacy": 1}
    )
    assert old.business_name == "B"
    assert old.hours is not None
    assert old.hours.sun == []
    assert old.model_dump(mode="json") == {
        "business_name": "B",
        "phone": "+15555550100",
        "hours": week(),
        "attributes": {},
        "social_links": {},
    }
    assert Business.model_validate({}).model_dump() == {"attributes": {}, "social_links": {}}


def test_the_wire_contract_names_the_logo_by_id_only() -> None:
    def assignment(business: dict[str, Any]) -> Assignment:
        return Assignment.model_validate(
            {
                "job_id": str(uuid.uuid4()),
                "tier": "starter",
                "lease_token": str(uuid.uuid4()),
                "lease_expires_at": "2030-01-01T00:00:00Z",
                "business": business,
                "directories_total": 0,
                "directories": [],
            }
        )

    handed_out = assignment(
        {"business_name": "Bluebird", "logo_url": f"http://169.254.169.254/logos/{LOGO_ID}"}
    )
    assert handed_out.business.logo_id == LOGO_ID
    # Read again on the worker's side: the same record.
    wire = handed_out.model_dump(mode="json")
    assert wire["business"] == {
        "business_name": "Bluebird",
        "attributes": {},
        "social_links": {},
        "logo_id": LOGO_ID,
    }
    assert assignment(wire["business"]).business == handed_out.business
    assert assignment({"logo_id": "../../etc/passwd"}).business.logo_id is None


def test_the_form_and_the_worker_share_the_lists() -> None:
    assert [day for day, _ in WEEKDAYS] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert SOCIAL_NETWORKS["x"] == ("X (Twitter)", ("x.com", "twitter.com"))
    assert country_name("us") == "United States"
    assert country_name("ZZ") == "ZZ"
    # The form never sends what only the snapshot carries.
    with pytest.raises(ValidationError, match="logo_id is not a form field"):
        EnteredBusiness.model_validate(entry(logo_id=LOGO_ID), context={"categories": CATEGORIES})
    # Nor a sign-in address: the form's email is the public one, under its own name.
    with pytest.raises(ValidationError, match="email\n  Extra inputs are not permitted"):
        EnteredBusiness.model_validate(
            entry(email="a@b.example"), context={"categories": CATEGORIES}
        )


# -- The database's refusals, by constraint name ------------------------------------------------


def test_every_mapped_customers_constraint_exists(conn: psycopg.Connection[Any]) -> None:
    names = {
        row[0]
        for row in conn.execute(
            "select conname from pg_constraint where conrelid = 'public.customers'::regclass"
        )
    }
    assert {name for name in CONSTRAINT_FIELDS if name.startswith("customers_")} <= names


def test_an_order_no_directory_accepts_is_refused_at_the_category(
    conn: psycopg.Connection[Any],
) -> None:
    row = conn.execute("select dev.create_paid_order('bob@example.com', 'starter')").fetchone()
    assert row is not None
    conn.execute("update directories set enabled = false")
    with pytest.raises(InvalidArgument) as refused, translate_errors():
        conn.execute("select jobs_enqueue(%s)", (row[0],))
    assert refused.value.constraint == "jobs_enqueue_a_directory_accepts_the_business"
    assert refused_field(refused.value)[0] == "category"


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("phone", "0161 496 0000", "phone"),
        ("website", "not a url", "website"),
        ("country", "usa", "country"),
        ("category", "bakeries", "category"),
        ("hours", '{"mon": []}', "hours-mon"),
        ("tagline", "t" * 161, "tagline"),
    ],
)
def test_a_constraint_refusal_lands_on_its_field(
    conn: psycopg.Connection[Any], column: str, value: str, field: str
) -> None:
    conn.execute("select dev.create_paid_order('alice@example.com', 'starter')")
    with pytest.raises(InvalidArgument) as refused, translate_errors():
        conn.execute(
            sql.SQL("update customers set {} = %s where email = 'alice@example.com'").format(
                sql.Identifier(column)
            ),
            (value,),
        )
    assert refused.value.constraint is not None
    assert refused_field(refused.value) == CONSTRAINT_FIELDS[refused.value.constraint]
    assert refused_field(refused.value)[0] == field


def test_a_refusal_without_a_constraint_is_shown_for_the_whole_form() -> None:
    field, message = refused_field(InvalidArgument("business.email is not a form field"))
    assert field == "form"
    assert message.endswith("business.email is not a form field")
