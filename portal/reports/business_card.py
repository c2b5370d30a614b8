"""Who the report is for, as its cover prints it: the business's name, postal address, phone
and website from the job's business snapshot (what was submitted to the directories)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from dbolt.typed_values import country_name
from portal.reports.links import http_link


@dataclass(frozen=True)
class BusinessCard:
    name: str
    address_lines: tuple[str, ...]
    phone: str
    website: str
    website_link: str | None


def _phone(raw: str, country: str | None) -> str:
    try:
        number = phonenumbers.parse(raw, country or None)
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_valid_number(number):
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def business_card(job: Mapping[str, Any]) -> BusinessCard:
    contact: Mapping[str, Any] = job.get("business_contact") or {}
    country = job.get("business_country")

    def part(key: str) -> str:
        return str(contact.get(key) or "").strip()

    locality = " ".join(p for p in (part("region"), part("postal_code")) if p)
    town = ", ".join(p for p in (part("city"), locality) if p)
    nation = country_name(country) if country else ""
    lines = tuple(line for line in (part("street_address"), town, nation) if line)
    website = part("website")
    return BusinessCard(
        name=str(job.get("business_name") or "Your business"),
        address_lines=lines,
        phone=_phone(part("phone"), country) if part("phone") else "",
        website=website,
        website_link=http_link(website),
    )
