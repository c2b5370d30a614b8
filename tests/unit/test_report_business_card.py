"""The report cover's business card: the postal address in lines with the country's name, the
phone in international format, and the website linked only when it is an http(s) address."""

from __future__ import annotations

from portal.reports.business_card import business_card


def test_the_card_reads_the_snapshot_as_a_person_writes_an_address() -> None:
    card = business_card(
        {
            "business_name": "Bluebird Bakery",
            "business_country": "US",
            "business_contact": {
                "street_address": "12 Orchard Lane",
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62701",
                "phone": "+12175550123",
                "website": "https://bluebird-bakery.example",
            },
        }
    )
    assert card.address_lines == ("12 Orchard Lane", "Springfield, IL 62701", "United States")
    assert card.phone == "+1 217-555-0123"
    assert card.website_link == "https://bluebird-bakery.example"


def test_a_website_that_is_not_http_is_printed_never_linked() -> None:
    card = business_card({"business_contact": {"website": "javascript:alert(1)"}})
    assert card.name == "Your business"
    assert card.website == "javascript:alert(1)"
    assert card.website_link is None
    assert card.address_lines == ()
