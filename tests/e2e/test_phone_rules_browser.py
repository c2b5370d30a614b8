"""The browser judges phone numbers as the server does: portal/static/phone_check.js (with
the rules generated from phonenumbers) runs in Chromium over a corpus of numbers from several
countries — valid ones in every format, mutations of them, too short, too long, letters,
+country-code and international-prefix forms, extensions, random digits — and its answer for
each (fine, or the message) must be the one dbolt.typed_values.normalise_phone gives. Where
the script cannot read a number exactly (non-ASCII, RFC 3966 forms) it must say so (undefined)
and leave it to the server, never refuse it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from playwright.sync_api import Page

from dbolt.typed_values import country_name, normalise_phone
from tests.support.browser import chromium

STATIC = Path(__file__).resolve().parents[2] / "portal" / "static"
COUNTRIES = ("US", "GB", "CA", "AU", "DE", "FR", "IT", "AR", "BR", "MX", "IN", "AE", "JP", "IE")
TYPES = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
)


def corpus() -> list[tuple[str, str]]:
    """(text, country) pairs; the same every run (seeded)."""
    rng = random.Random(15)
    cases: list[tuple[str, str]] = []
    for country in COUNTRIES:
        code = phonenumbers.country_code_for_region(country)
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(country, kind)
            if example is None:
                continue
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            international = phonenumbers.format_number(
                example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            nsn = phonenumbers.national_significant_number(example)
            cases += [(national, country), (international, country), (e164, country)]
            cases += [(e164[1:], country), ("00" + e164[1:], country), ("011" + e164[1:], country)]
            cases += [
                (nsn, country),
                (nsn[:-1], country),
                (nsn + "7", country),
                (e164 + "0", country),
            ]
            cases += [
                (f"({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}", country),
                (nsn.replace("", ".")[1:-1], country),
            ]
            cases += [(f"{national} ext. 12", country), (f"{national} x12", country)]
            cases += [(f"{national} #3", country), (f"{national}/ x 5", country)]
            for position in range(len(nsn)):
                digit = str(rng.randrange(10))
                cases.append((nsn[:position] + digit + nsn[position + 1 :], country))
            # Another country's number with its + code, under this country.
            other = rng.choice([c for c in COUNTRIES if c != country])
            foreign = phonenumbers.example_number(other)
            if foreign is not None:
                cases.append(
                    (
                        phonenumbers.format_number(foreign, phonenumbers.PhoneNumberFormat.E164),
                        country,
                    )
                )
        for length in range(1, 17):
            digits = "".join(str(rng.randrange(10)) for _ in range(length))
            cases += [(digits, country), ("0" + digits, country), (f"+{code}{digits}", country)]
            cases.append((f"+{digits}", country))
        cases += [
            ("", country),
            ("abc", country),
            ("call me", country),
            ("0161 ABC 0000", country),
            ("1-800-FLOWERS", country),
            ("+1 800 FLOWERS", country),
            ("555-CALL", country),
            ("12345O", country),
            ("+", country),
            ("+0161 496 0000", country),
            ("++44 161 496 0000", country),
            ("(0)20 7946 0958", country),
            ("+44 (0)20 7946 0958", country),
            ("+999 123 4567", country),
            ("1" * 31, country),
            ("phone: 020 7946 0958.", country),
            ("020-7946-0958 / 020 7946 0959", country),
        ]
    # No country chosen: only +country-code forms are judged.
    cases += [
        ("+44 20 7946 0958", ""),
        ("+1 202 555 0123", ""),
        ("+800 1234 5678", ""),
        ("+12", ""),
    ]
    return cases


# Not read in the browser: left to the server.
FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}
UNDECIDED = [
    ("0161 496 0000".translate(FULL_WIDTH), "GB"),
    ("tel:+44-20-7946-0958;isub=1", "GB"),
]


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium() as browser:
        tab = browser.new_page()
        tab.set_content("<!doctype html><title>phone rules</title>")
        tab.add_script_tag(path=str(STATIC / "phone_rules.js"))
        tab.add_script_tag(path=str(STATIC / "phone_check.js"))
        yield tab


def server_says(text: str, country: str) -> str | None:
    if not text.strip():
        return "Enter the phone number"
    try:
        normalise_phone(text, country or None)
    except ValueError as error:
        return str(error)
    return None


def browser_says(page: Page, cases: list[tuple[str, str]]) -> list[str | None]:
    answers: list[str | None] = page.evaluate(
        """(cases) => cases.map(([text, country, name]) => {
             if (!text.trim()) return "Enter the phone number";
             const answer = window.dboltPhoneProblem(text, country, name);
             return answer === undefined ? "(undecided)" : answer;
           })""",
        [[text, country, country_name(country) if country else ""] for text, country in cases],
    )
    return answers


def test_the_browser_and_the_server_give_the_same_verdict_on_every_number(page: Page) -> None:
    cases = corpus()
    answers = browser_says(page, cases)
    disagreements = [
        (text, country, server, browser)
        for (text, country), browser in zip(cases, answers, strict=True)
        if (server := server_says(text, country)) != browser
    ]
    assert disagreements == [], f"{len(disagreements)} of {len(cases)}: {disagreements[:10]}"
    valid = sum(server_says(text, country) is None for text, country in cases)
    # The corpus is not one-sided: many numbers of each kind.
    assert valid > 200, (valid, len(cases))
    assert len(cases) - valid > 500, (valid, len(cases))


def test_what_the_browser_cannot_read_exactly_is_left_to_the_server(page: Page) -> None:
    assert browser_says(page, UNDECIDED) == ["(undecided)"] * len(UNDECIDED)
