"""Postcodes on the Business Info Form, server side: each country's format and name from
Google's address data (dbolt/postcodes.py), refused with the country's word for it; the UK's,
Canada's and Australia's accepted; none needed where the country has none (the database
agrees: private.country_requires_postcode lists exactly the countries the rules require one
in)."""

from __future__ import annotations

import re

import psycopg

from dbolt.postcodes import postcode_rule
from dbolt.typed_values import country_codes
from tests.integration.test_portal_business import field_error, jobs_of, post_form, valid_form
from tests.support.portal_harness import PortalStack


def stored_postcode(stack: PortalStack, customer_id: object) -> str | None:
    with psycopg.connect(stack.db_url) as conn:
        row = conn.execute(
            "select postal_code from customers where id = %s", (customer_id,)
        ).fetchone()
    assert row is not None
    value: str | None = row[0]
    return value


def test_abc_is_not_a_us_zip_code_and_the_message_says_what_one_looks_like(
    portal_stack: PortalStack,
) -> None:
    alice = portal_stack.customer("alice@example.com", "starter", business={})
    for entered in ("ABC", "6270", "62701-12", "ABCDE"):
        response = post_form(portal_stack, alice, valid_form(postal_code=entered))
        assert response.status_code == 400, entered
        assert field_error(response.text, "postal_code") == (
            "This is not a ZIP code used in United States: write it like 95014 or 22162-1010"
        )
    # The page calls it what the country calls it.
    assert re.search(r"<span data-postcode-name>ZIP code</span>", response.text)
    missing = post_form(portal_stack, alice, valid_form(postal_code=""))
    assert field_error(missing.text, "postal_code") == "Enter the ZIP code"
    assert jobs_of(portal_stack, alice) == []

    assert post_form(portal_stack, alice, valid_form(postal_code="62701-1234")).status_code == 303
    assert stored_postcode(portal_stack, alice.customer_id) == "62701-1234"


def test_uk_canadian_and_australian_postcodes_are_accepted_and_stored_in_capitals(
    portal_stack: PortalStack,
) -> None:
    bob = portal_stack.customer("bob@example.com", "starter", business={})
    for country, phone, entered, stored in (
        ("GB", "020 7946 0958", "sw1a 1aa", "SW1A 1AA"),
        ("GB", "020 7946 0958", "EC1Y 8SY", "EC1Y 8SY"),
        ("CA", "(613) 555-0100", "K1A 0B1", "K1A 0B1"),
        ("AU", "02 9374 4000", "2060", "2060"),
    ):
        response = post_form(
            portal_stack, bob, valid_form(country=country, phone=phone, postal_code=entered)
        )
        assert response.status_code == 303, (country, entered, response.text[-2000:])
        assert stored_postcode(portal_stack, bob.customer_id) == stored
    refused = post_form(
        portal_stack, bob, valid_form(country="GB", phone="020 7946 0958", postal_code="62701")
    )
    assert field_error(refused.text, "postal_code") == (
        "This is not a postal code used in United Kingdom: write it like EC1Y 8SY or GIR 0AA"
    )


def test_a_business_in_a_country_without_postcodes_needs_none(portal_stack: PortalStack) -> None:
    carol = portal_stack.customer("carol@example.com", "starter", business={})
    response = post_form(
        portal_stack,
        carol,
        valid_form(country="AE", region="Dubai", phone="04 200 0000", postal_code=""),
    )
    assert response.status_code == 303, response.text[-2000:]
    ((_, status, snapshot),) = jobs_of(portal_stack, carol)
    assert status == "pending"
    assert "postal_code" not in snapshot
    page = portal_stack.client.get(f"/orders/{carol.order_id}/business", cookies=carol.cookies)
    # Labelled optional for the chosen country.
    assert re.search(r"data-postcode-optional>", page.text)


def test_the_database_requires_a_postcode_exactly_where_the_rules_do(
    portal_stack: PortalStack,
) -> None:
    codes = sorted(country_codes())
    with psycopg.connect(portal_stack.db_url) as conn:
        rows = conn.execute(
            "select code, private.country_requires_postcode(code) from unnest(%s::text[]) code",
            (codes,),
        ).fetchall()
    assert {code for code, required in rows if required} == {
        code for code in codes if postcode_rule(code).required
    }
