"""The public email directories publish (dbolt/typed_values.py EMAIL_PATTERN, the same check
as the database's customers_public_email_is_an_address): a plain address only, refused on the
form with an error naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dbolt.business import PUBLIC_EMAIL_MESSAGE, EnteredBusiness
from dbolt.typed_values import EMAIL_PATTERN
from portal.business_form import errors_by_field


def public_email_error(address: str) -> str | None:
    """The form's error for the public email alone (the other fields are left empty)."""
    try:
        EnteredBusiness.model_validate({"public_email": address}, context={"categories": []})
    except ValidationError as error:
        return errors_by_field(error).get("public_email")
    return None


@pytest.mark.parametrize(
    "address",
    ["hello@bakery.example", "First.Last+shop@mail.bakery.co.uk", "a_b%c-d@xn--bcher-kva.xn--p1ai"],
)
def test_a_plain_address_is_accepted(address: str) -> None:
    assert EMAIL_PATTERN.match(address)
    assert public_email_error(f" {address} ") is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ('"Support" <x@evil.example>', "a display name in angle brackets"),
        ("<x@evil.example>", "angle brackets"),
        ("a@b.example,c@d.example", "a list"),
        ("a b@bakery.example", "a space inside"),
        ('"a"@bakery.example', "quotes"),
        ("hello@bakery.example\u202emoc", "a right-to-left override"),
        ("hello\u200f@bakery.example", "a right-to-left mark"),
        ("hello@bakery", "no dot in the host"),
        ("hello@-bakery.example", "a host label starting with a hyphen"),
        ("a" * 65 + "@bakery.example", "a mailbox longer than 64"),
        ("a@" + "b" * 64 + ".example", "a host label longer than 63"),
        ("hello\n@bakery.example", "a newline inside"),
    ],
)
def test_anything_but_a_plain_address_is_refused_naming_the_field(address: str, why: str) -> None:
    assert not EMAIL_PATTERN.match(address), why
    error = public_email_error(address)
    assert error is not None, why
    assert "public email" in error.lower(), why


def test_the_refusal_says_what_a_plain_address_is() -> None:
    assert public_email_error('"Support" <x@evil.example>') == PUBLIC_EMAIL_MESSAGE
