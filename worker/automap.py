"""The generic filler's judgement: which business value belongs in which form field.

Pure and conservative: a field is filled only when a strong hint names it (the autocomplete
token, then the label, name, id, placeholder or input type). Anything unrecognised is left
alone, and reported, rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dbolt.business import Business
from dbolt.refusals import CATEGORY_UNMATCHED, field_message
from worker.business import field_value
from worker.categories import match_category
from worker.outcome import permanent

AUTOCOMPLETE = {
    "organization": "business_name",
    "street-address": "street_address",
    "address-line1": "street_address",
    "address-level2": "city",
    "address-level1": "region",
    "postal-code": "postal_code",
    "country": "country",
    "country-name": "country",
    "tel": "phone",
    "tel-national": "phone",
    "url": "website",
    "email": "public_email",
}

# Ordered: the first pattern that matches a field's hints wins.
KEYWORDS: list[tuple[str, re.Pattern[str]]] = [
    # The business's public address: the customer's sign-in address is never in the snapshot.
    ("public_email", re.compile(r"\be-?mail\b")),
    ("website", re.compile(r"\b(website|web site|homepage|url|web address)\b")),
    ("phone", re.compile(r"\b(phone|telephone|tel|mobile)\b")),
    ("postal_code", re.compile(r"\b(zip|postal|post ?code)\b")),
    # Before the name: "Tell customers about your business" describes, it does not name.
    ("description", re.compile(r"\b(description|describe|about|details|summary)\b")),
    ("tagline", re.compile(r"\b(tagline|slogan)\b")),
    ("category", re.compile(r"\b(category|industry|sector|business type|type of business)\b")),
    (
        "business_name",
        re.compile(
            r"\b(business|company|organi[sz]ation|listing|shop|store|trading) ?(name|title)\b"
            r"|\b(company|organi[sz]ation)\b"
        ),
    ),
    ("street_address", re.compile(r"\b(street|address ?(line)? ?1?|addr)\b")),
    ("city", re.compile(r"\b(city|town|locality)\b")),
    ("region", re.compile(r"\b(state|region|province|county)\b")),
    ("country", re.compile(r"\bcountry\b")),
]
CONSENT = re.compile(r"\b(terms|agree|accept|consent|privacy)\b")
TYPE_HINTS = {"email": "public_email", "tel": "phone", "url": "website"}


@dataclass(frozen=True)
class FieldInfo:
    """What the page tells about one form control (collected in the browser)."""

    index: int
    tag: str
    type: str = ""
    name: str = ""
    id: str = ""
    autocomplete: str = ""
    label: str = ""
    placeholder: str = ""
    aria_label: str = ""
    options: tuple[tuple[str, str], ...] = ()
    required: bool = False

    @classmethod
    def from_js(cls, data: dict[str, Any]) -> FieldInfo:
        return cls(
            index=int(data["index"]),
            tag=str(data.get("tag", "")).lower(),
            type=str(data.get("type", "")).lower(),
            name=str(data.get("name", "")),
            id=str(data.get("id", "")),
            autocomplete=str(data.get("autocomplete", "")).lower(),
            label=str(data.get("label", "")),
            placeholder=str(data.get("placeholder", "")),
            aria_label=str(data.get("ariaLabel", "")),
            options=tuple((str(o["value"]), str(o["label"])) for o in data.get("options", [])),
            required=bool(data.get("required", False)),
        )

    def hints(self) -> str:
        words = " ".join([self.label, self.aria_label, self.placeholder, self.name, self.id])
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", words)
        return re.sub(r"[_\-\[\].:*]+", " ", words).lower()


@dataclass(frozen=True)
class Planned:
    field: FieldInfo
    kind: str  # "fill" | "select" | "check"
    business_field: str | None
    value: str
    reason: str


def business_field_for(field: FieldInfo) -> tuple[str | None, str]:
    for token in field.autocomplete.split():
        if token in AUTOCOMPLETE:
            return AUTOCOMPLETE[token], f"autocomplete={token}"
    hints = field.hints()
    for business_field, pattern in KEYWORDS:
        if pattern.search(hints):
            return business_field, f"by {' '.join(hints.split())!r}"
    if field.type in TYPE_HINTS:
        return TYPE_HINTS[field.type], f"type={field.type}"
    if re.search(r"\bname\b", hints) and not re.search(
        r"\b(first|last|contact|your|user)\b", hints
    ):
        return "business_name", "a bare 'name' field"
    return None, "no recognisable hint"


def _category_choice(
    field: FieldInfo, slug: str, category_map: Mapping[str, str], reason: str
) -> Planned:
    mapped = category_map.get(slug)
    option = _choose_option(field.options, [mapped]) if mapped else None
    if option is not None:
        return Planned(field, "select", "category", option, f"{reason}; the category map")
    found = None if mapped else match_category(slug, field.options)
    if found is None:
        raise permanent(
            CATEGORY_UNMATCHED,
            field_message("category", f"no option of the site's category list fits {slug!r}"),
        )
    return Planned(field, "select", "category", found.value, f"{reason}; matched by {found.how}")


def guess_field(label: str) -> str | None:
    """The business field a site's label (or "Label: problem" error text) is about."""
    name = label.split(":", 1)[0]
    business_field, _ = business_field_for(FieldInfo(index=0, tag="input", label=name))
    return business_field


def _choose_option(options: tuple[tuple[str, str], ...], wanted: list[str]) -> str | None:
    lowered = [w.lower() for w in wanted if w]
    for value, label in options:
        if value.lower() in lowered or label.strip().lower() in lowered:
            return value
    return None


def plan(
    fields: list[FieldInfo],
    business: Business,
    country_name: str,
    category_map: Mapping[str, str] | None = None,
) -> tuple[list[Planned], list[FieldInfo]]:
    """The fields to fill and how, and the fields left alone (for the log).

    A category select is chosen through the directory's category_map, or else by the
    matcher (worker/categories.py); when neither is confident the attempt fails as
    category_unmatched (AttemptFailed), because a wrong category is a wrong listing."""
    planned: list[Planned] = []
    skipped: list[FieldInfo] = []
    used: set[str] = set()
    for field in fields:
        if field.type in ("hidden", "submit", "button", "file", "password", "image", "reset"):
            continue
        if field.type in ("checkbox", "radio"):
            if field.type == "checkbox" and CONSENT.search(field.hints()):
                planned.append(Planned(field, "check", None, "true", "a consent checkbox"))
            else:
                skipped.append(field)
            continue
        business_field, reason = business_field_for(field)
        known = field_value(business, business_field) if business_field else None
        if business_field is None or business_field in used or not known:
            skipped.append(field)
            continue
        raw = str(known)
        if field.tag == "select" and business_field == "category":
            planned.append(_category_choice(field, raw, category_map or {}, reason))
        elif field.tag == "select":
            wanted = [raw, country_name] if business_field == "country" else [raw]
            option = _choose_option(field.options, wanted)
            if option is None:
                skipped.append(field)
                continue
            planned.append(Planned(field, "select", business_field, option, reason))
        else:
            value = (
                country_name
                if business_field == "country" and len(raw) == 2 and field.type != "hidden"
                else raw
            )
            if business_field == "country" and "code" in field.hints():
                value = raw
            planned.append(Planned(field, "fill", business_field, value, reason))
        used.add(business_field)
    return planned, skipped
