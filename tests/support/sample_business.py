"""The test suite's sample business, as the Business Info Form submits it: Bluebird Bakery in
Springfield, US, with a public email. Tests change what their case is about and drop a key by
setting it to None."""

from __future__ import annotations

from typing import Any


def sample_business(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "business_name": "Bluebird Bakery",
        "street_address": "12 Orchard Lane",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
        "phone": "+12175550123",
        "website": "https://bluebird-bakery.example",
        "category": "bakery",
        "public_email": "hello@bluebird-bakery.example",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def as_a_directory_lists_it(**changes: str) -> dict[str, str]:
    """The sample business as a directory's listing shows it (the sandbox's lifecycle sites
    are seeded with this: POST /_admin/lifecycle/listings): the phone in national format."""
    business = sample_business()
    shown = {
        key: business[key]
        for key in ("business_name", "street_address", "city", "region", "postal_code")
    }
    return shown | {"phone": "(217) 555-0123"} | changes
