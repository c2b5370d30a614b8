"""The customer's instruction when a directory needs them is ours, fixed per kind of action
the worker recognised (worker/customer_action.py); the site's own words go to staff only."""

from __future__ import annotations

import pytest

from dbolt.contracts import Outcome
from worker.customer_action import as_sentences, customer_action, kind_of
from worker.outcome import AttemptResult, classify_text

PHISH = (
    "Almost done! We sent a verification email. To finish, call +1 900 555 0100 "
    "or sign in at http://evil.example/login with your bank card."
)


@pytest.mark.parametrize(
    ("site_text", "kind"),
    [
        (
            "Almost done! We sent a verification email to a@b.example. Click the link in it.",
            "email_verification",
        ),
        ("Check your inbox to confirm your listing.", "email_verification"),
        ("Please verify your phone: we texted you a confirmation code.", "phone_verification"),
        ("We will call you on the phone number given to confirm.", "phone_verification"),
        ("Verify your email and your phone to finish.", "other"),
        ("Your listing is pending: send us your passport scan.", "other"),
    ],
)
def test_the_kind_of_action_is_recognised_from_the_sites_words(site_text: str, kind: str) -> None:
    assert kind_of(site_text) == kind


def test_each_kind_has_our_fixed_words_naming_the_directory_and_the_business_contact() -> None:
    assert customer_action("email_verification", "Acme Listings", "hello@bakery.example", None) == (
        "Acme Listings sent a confirmation email to your business email (hello@bakery.example);"
        " open it and click the link in it."
    )
    assert customer_action("email_verification", "Acme Listings", None, None) == (
        "Acme Listings sent a confirmation email to your business email;"
        " open it and click the link in it."
    )
    phone = customer_action("phone_verification", "Acme Listings", None, "+12175550123")
    assert phone.startswith("Acme Listings will confirm your listing by a call or text message")
    assert "(+12175550123)" in phone
    assert customer_action("other", "Acme Listings", "hello@bakery.example", None) == (
        "Our team will tell you what Acme Listings needs."
    )
    # An address that is not plain (a snapshot from before the check) is left out, not shown.
    loose = customer_action("email_verification", "Acme", '"Support" <x@evil.example>', None)
    assert "evil" not in loose


def test_a_hostile_sites_words_reach_staff_not_the_customer() -> None:
    verdict = classify_text(PHISH)
    assert isinstance(verdict, AttemptResult)
    assert verdict.outcome is Outcome.needs_action
    assert verdict.action_required is None  # the engine words it (worker/engine.py)
    assert verdict.message is not None
    assert "evil.example" in verdict.message  # for staff
    assert verdict.action_kind == "email_verification"  # from the sentence that asked
    report = verdict.reported()
    assert "action_kind" not in report
    worded = customer_action(verdict.action_kind, "Acme Listings", "hello@bakery.example", None)
    assert "evil" not in worded
    assert "900" not in worded


@pytest.mark.parametrize(
    ("inner_text", "said"),
    [
        # Chromium's innerText of the sandbox's verification page: an h1, then a p.
        (
            "Check your email\n\nAlmost done! We sent a verification email to a@b.example.",
            "Check your email. Almost done! We sent a verification email to a@b.example.",
        ),
        # A block that ends its own sentence, or leads into the next, keeps its mark.
        ("Thank you!\nYour listing is pending.", "Thank you! Your listing is pending."),
        ("Your code:\n123456", "Your code: 123456."),
        # A line broken mid-sentence (<br>) is joined, not ended.
        ("We sent it to\nowner@bakery.example", "We sent it to owner@bakery.example."),
        ("  Verify your phone  \n\n\n", "Verify your phone."),
    ],
)
def test_headings_and_paragraphs_are_read_as_separate_sentences(inner_text: str, said: str) -> None:
    assert as_sentences(inner_text) == said


def test_staff_read_the_heading_and_the_message_as_two_sentences() -> None:
    page = (
        "Acme Listings\nHome\n\nCheck your email\n\n"
        "Almost done! We sent a verification email to a@b.example. Click the link in it."
    )
    verdict = classify_text(page)
    assert isinstance(verdict, AttemptResult)
    assert verdict.action_kind == "email_verification"
    assert verdict.message == (
        "the site asked: Check your email. Almost done! We sent a verification email to "
        "a@b.example. Click the link in it."
    )
