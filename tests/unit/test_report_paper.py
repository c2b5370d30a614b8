"""The report PDF's paper: US Letter in the US and Canada, A4 elsewhere, either on request, and
a request for anything else falls back to the business's default."""

from __future__ import annotations

from portal.reports.paper import A4, LETTER, chosen_paper, paper_choices


def test_the_default_paper_follows_the_business_country() -> None:
    assert chosen_paper(None, "US") == LETTER
    assert chosen_paper(None, "ca") == LETTER
    assert chosen_paper(None, "GB") == A4
    assert chosen_paper(None, None) == A4


def test_a_customer_can_ask_for_either_paper_and_nothing_else() -> None:
    assert chosen_paper("a4", "US") == A4
    assert chosen_paper(" Letter ", "DE") == LETTER
    assert chosen_paper("tabloid", "US") == LETTER
    assert chosen_paper("../../etc", "FR") == A4


def test_the_page_offers_the_default_paper_first() -> None:
    assert paper_choices("US") == [LETTER, A4]
    assert paper_choices("FR") == [A4, LETTER]
