"""The business record, defined once: its fields, opening hours, limits and normalisation.

Two models, one set of fields, each for its own reason:
- `Business` is the record as stored (customers) and frozen into a job
  (jobs.business_snapshot), handed to workers in `Assignment.business`. It is as tolerant as
  the database: any field may be absent, so a snapshot written by older code still parses.
- `EnteredBusiness` is the same record as a customer enters it on the Business Info Form,
  held to stricter rules so they see a message next to the field rather than a refusal:
  required fields, limits, the phone number in E.164 and the website normalised. Its
  validation errors carry messages meant for people (the portal shows them as they are).

Web addresses, phone numbers and countries become stored values in dbolt/typed_values.py.
The database's constraints (migration 20261129000300; categories in 20261129001900) stay
the last word on what is stored. The browser gets the limits below from the page
(portal/templates/business.html renders them as attributes), never from a copy of its own.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dbolt.postcodes import ANY_POSTCODE, ANY_POSTCODE_MESSAGE, PostcodeRule, postcode_rule
from dbolt.typed_values import (
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    country_codes,
    has_control_characters,
    normalise_phone,
    normalise_url,
)

# -- Limits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextRule:
    """How one free-text field is entered: its label, whether it is required, its limits."""

    label: str
    required: bool
    max_length: int
    min_length: int = 1
    # A description keeps its line breaks; every other field is one line.
    multiline: bool = False
    pattern: re.Pattern[str] | None = None
    pattern_message: str = ""


PUBLIC_EMAIL_MESSAGE = (
    "The public email must be a plain address like hello@example.com"
    " (no spaces, quotes, commas or angle brackets)"
)
TEXT_RULES: dict[str, TextRule] = {
    "business_name": TextRule("Business name", True, 200, min_length=2),
    "street_address": TextRule("Street address", True, 200),
    "city": TextRule("City or town", True, 100),
    "region": TextRule("State, county or region", True, 100),
    # Whether it is required, its format and its name depend on the country
    # (dbolt/postcodes.py): these are the rules where no country is chosen yet.
    "postal_code": TextRule(
        "Postal code",
        False,
        20,
        pattern=ANY_POSTCODE,
        pattern_message=ANY_POSTCODE_MESSAGE,
    ),
    # The database holds these two to the same limits (customers_tagline_is_short,
    # customers_description_is_bounded).
    # The address directories publish; never the sign-in address (customers.email).
    "public_email": TextRule(
        "Public email",
        False,
        EMAIL_MAX_LENGTH,
        pattern=EMAIL_PATTERN,
        pattern_message=PUBLIC_EMAIL_MESSAGE,
    ),
    "tagline": TextRule("Tagline", False, 160),
    "description": TextRule("Description", False, 2000, multiline=True),
}
# Time ranges offered per day (e.g. a lunch break makes two); empty ones are ignored.
RANGES_PER_DAY = 3
# As a customer enters it; a range closing at midnight is stored as 24:00.
TIME_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MIDNIGHT = "24:00"


# -- Normalisation ---------------------------------------------------------------------------


def normalise_text(raw: str, rule: TextRule) -> str:
    """Outer whitespace trimmed; a one-line field's inner runs of whitespace made one space."""
    return raw.replace("\r\n", "\n").strip() if rule.multiline else " ".join(raw.split())


def _refuse(message: str) -> PydanticCustomError:
    # A custom error's message is shown as it is (a ValueError's would start "Value error, ").
    return PydanticCustomError("business", message)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


# -- The record, as stored -------------------------------------------------------------------


class _WithoutNulls(BaseModel):
    """Absent and null are one thing here: dumps leave out empty fields, as the snapshot does
    (private.customer_business strips nulls) and as customers_save_business expects."""

    model_config = ConfigDict(extra="ignore")

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {name: value for name, value in dumped.items() if value is not None}


class OpeningRange(BaseModel):
    open: str
    close: str


DayRanges = list[OpeningRange]


class Hours(BaseModel):
    """Opening hours by weekday, in week order; an empty list means closed that day."""

    mon: DayRanges = Field(default_factory=list, title="Monday")
    tue: DayRanges = Field(default_factory=list, title="Tuesday")
    wed: DayRanges = Field(default_factory=list, title="Wednesday")
    thu: DayRanges = Field(default_factory=list, title="Thursday")
    fri: DayRanges = Field(default_factory=list, title="Friday")
    sat: DayRanges = Field(default_factory=list, title="Saturday")
    sun: DayRanges = Field(default_factory=list, title="Sunday")

    def of(self, day: str) -> DayRanges:
        ranges: DayRanges = getattr(self, day)
        return ranges


# (code, name) of each weekday, in week order.
WEEKDAYS: tuple[tuple[str, str], ...] = tuple(
    (day, info.title or day) for day, info in Hours.model_fields.items()
)


@dataclass(frozen=True)
class Network:
    label: str
    # The only hosts accepted for the network's links, with their subdomains.
    hosts: tuple[str, ...]


class SocialLinks(_WithoutNulls):
    """A profile link per social network, each optional."""

    facebook: Annotated[str | None, Network("Facebook", ("facebook.com", "fb.com"))] = None
    instagram: Annotated[str | None, Network("Instagram", ("instagram.com",))] = None
    linkedin: Annotated[str | None, Network("LinkedIn", ("linkedin.com",))] = None
    x: Annotated[str | None, Network("X (Twitter)", ("x.com", "twitter.com"))] = None
    youtube: Annotated[str | None, Network("YouTube", ("youtube.com", "youtu.be"))] = None
    tiktok: Annotated[str | None, Network("TikTok", ("tiktok.com",))] = None


# name -> (label, hosts), in the form's order.
SOCIAL_NETWORKS: dict[str, tuple[str, tuple[str, ...]]] = {
    name: (network.label, network.hosts)
    for name, info in SocialLinks.model_fields.items()
    for network in info.metadata
    if isinstance(network, Network)
}


class Attributes(_WithoutNulls):
    """What the business offers, as the customer said: True, False, or None (not said).

    A recipe ticks a directory's box only from these (worker/recipe.py); None ticks nothing.
    The names are the database's too (private.business_attributes_are_valid)."""

    storefront: bool | None = Field(
        default=None, title="Customers visit your premises (shop or office)"
    )
    service_area: bool | None = Field(default=None, title="You go to your customers (service area)")
    takeaway: bool | None = Field(default=None, title="Takeaway")
    delivery: bool | None = Field(default=None, title="Delivery")
    catering: bool | None = Field(default=None, title="Catering")
    free_wifi: bool | None = Field(default=None, title="Free Wi-Fi for customers")


# name -> label, in the form's order.
ATTRIBUTES: dict[str, str] = {
    name: info.title or name for name, info in Attributes.model_fields.items()
}


class Business(_WithoutNulls):
    """A business as stored and snapshotted; field order is the form's (and the SQL's)."""

    business_name: str | None = None
    street_address: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    website: str | None = None
    # The address directories publish. Snapshots written before it existed carried the
    # sign-in address as `email`: that key is ignored (extra="ignore"), never published.
    public_email: str | None = None
    category: str | None = None
    hours: Hours | None = None
    attributes: Attributes = Field(default_factory=Attributes)
    tagline: str | None = None
    description: str | None = None
    social_links: SocialLinks = Field(default_factory=SocialLinks)
    # In the snapshot only: the logo by id (dbolt/contracts.py).
    logo_id: str | None = None


# -- The record, as a customer enters it -----------------------------------------------------


class EnteredHours(Hours):
    """A week as entered: each day closed ([]), nothing entered (None, refused) or ranges."""

    @field_validator("*", mode="before")
    @classmethod
    def _day_entered(cls, ranges: object, info: ValidationInfo) -> object:
        if ranges is None:
            raise _refuse(f"{_day_label(info)}: enter the opening hours or tick Closed")
        return ranges

    @field_validator("*")
    @classmethod
    def _day_ranges(cls, ranges: DayRanges, info: ValidationInfo) -> DayRanges:
        label = _day_label(info)
        spans: list[tuple[int, int, OpeningRange]] = []
        for entered in ranges:
            opens, closes = entered.open.strip(), entered.close.strip()
            if not opens and not closes:
                continue
            if not opens or not closes:
                raise _refuse(f"{label}: enter both an opening and a closing time")
            if not TIME_PATTERN.match(opens) or not TIME_PATTERN.match(closes):
                raise _refuse(f"{label}: times must be written as HH:MM, like 09:00")
            # Closing at midnight is 24:00 (a range ends after it starts on the same day).
            stored_close = MIDNIGHT if closes == "00:00" else closes
            start, end = _minutes(opens), _minutes(stored_close)
            if start >= end:
                raise _refuse(f"{label}: the closing time must be after the opening time")
            spans.append((start, end, OpeningRange(open=opens, close=stored_close)))
        if ranges and not spans:
            raise _refuse(f"{label}: enter the opening hours or tick Closed")
        spans.sort(key=lambda span: span[:2])
        if any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans)):
            raise _refuse(f"{label}: the time ranges overlap")
        return [span for _, _, span in spans]

    @model_validator(mode="after")
    def _open_some_day(self) -> EnteredHours:
        if not any(self.of(day) for day, _ in WEEKDAYS):
            raise _refuse("Enter the opening hours of at least one day")
        return self


def _day_label(info: ValidationInfo) -> str:
    return dict(WEEKDAYS).get(info.field_name or "", info.field_name or "")


class EnteredSocialLinks(SocialLinks):
    @field_validator("*", mode="before")
    @classmethod
    def _link(cls, raw: object, info: ValidationInfo) -> object:
        if not isinstance(raw, str):
            return raw
        if not raw.strip():
            return None
        label, hosts = SOCIAL_NETWORKS[info.field_name or ""]
        try:
            url = normalise_url(raw, what=f"{label} address", require_https=True)
        except ValueError as error:
            raise _refuse(str(error)) from None
        host = urlsplit(url).hostname or ""
        if not any(host == h or host.endswith("." + h) for h in hosts):
            raise _refuse(f"The {label} address must be on {' or '.join(hosts)}")
        return url


@dataclass(frozen=True)
class _PostcodeFor:
    """A postcode as entered, with the rule of the country entered beside it."""

    entered: str
    rule: PostcodeRule

    def checked(self) -> str | None:
        rule = TEXT_RULES["postal_code"]
        text = normalise_text(self.entered, rule).upper()
        if len(text) > rule.max_length:
            raise _refuse(
                f"The {self.rule.in_sentence} must be at most {rule.max_length} characters"
                f" (it has {len(text)})"
            )
        problem = self.rule.problem(text)
        if problem:
            raise _refuse(problem)
        return text or None


class EnteredBusiness(Business):
    """The Business Info Form's fields, checked and normalised for storing.

    Validate with `context={"categories": <the listed slugs>}` to check the category (the
    list is data: public.business_categories)."""

    # Defaults are validated too: a required field left out is refused like an empty one.
    model_config = ConfigDict(extra="forbid", validate_default=True)

    hours: EnteredHours | None = None
    social_links: EnteredSocialLinks = Field(default_factory=EnteredSocialLinks)

    @model_validator(mode="before")
    @classmethod
    def _postcode_of_the_country(cls, data: object) -> object:
        # The postcode comes before the country in the form (and so in field order), but its
        # rule is the country's: pair them here, before the fields are checked one by one.
        if not isinstance(data, dict):
            return data
        country = str(data.get("country") or "").strip().upper()
        postcode = data.get("postal_code")
        if country not in country_codes() or not (postcode is None or isinstance(postcode, str)):
            return data
        return {**data, "postal_code": _PostcodeFor(postcode or "", postcode_rule(country))}

    @field_validator(*TEXT_RULES, mode="before")
    @classmethod
    def _text(cls, raw: object, info: ValidationInfo) -> object:
        if isinstance(raw, _PostcodeFor):
            return raw.checked()
        if raw is not None and not isinstance(raw, str):
            return raw
        rule = TEXT_RULES[info.field_name or ""]
        what = rule.label.lower()
        text = normalise_text(raw or "", rule)
        if not text:
            if rule.required:
                raise _refuse(f"Enter the {what}")
            return None
        if has_control_characters(text, allow_newlines=rule.multiline):
            raise _refuse(f"The {what} contains characters that cannot be stored")
        if len(text) > rule.max_length:
            raise _refuse(
                f"The {what} must be at most {rule.max_length} characters (it has {len(text)})"
            )
        if len(text) < rule.min_length:
            raise _refuse(f"The {what} must be at least {rule.min_length} characters")
        if rule.pattern is not None and not rule.pattern.match(text):
            raise _refuse(rule.pattern_message)
        return text

    @field_validator("public_email")
    @classmethod
    def _public_email_lower(cls, public_email: str | None) -> str | None:
        return public_email.lower() if public_email else public_email

    @field_validator("postal_code")
    @classmethod
    def _postal_code_upper(cls, postal_code: str | None) -> str | None:
        return postal_code.upper() if postal_code else postal_code

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, raw: object) -> object:
        code = str(raw or "").strip().upper()
        if not code:
            raise _refuse("Choose the country")
        if code not in country_codes():
            raise _refuse("Choose a country from the list")
        return code

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, raw: object, info: ValidationInfo) -> object:
        text = str(raw or "").strip()
        if not text:
            raise _refuse("Enter the phone number")
        # Fields are checked in order, so a valid country is in info.data by now.
        country = info.data.get("country")
        if not country and not text.startswith("+"):
            # A national number can only be checked against its country: the country's own
            # error is the one to show (and it already makes the whole entry invalid).
            return text
        try:
            return normalise_phone(text, country)
        except ValueError as error:
            raise _refuse(str(error)) from None

    @field_validator("website", mode="before")
    @classmethod
    def _website(cls, raw: object) -> object:
        text = str(raw or "").strip()
        if not text:
            raise _refuse("Enter the website")
        try:
            return normalise_url(text, what="website address")
        except ValueError as error:
            raise _refuse(str(error)) from None

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, raw: object, info: ValidationInfo) -> object:
        slug = str(raw or "").strip()
        if not slug:
            raise _refuse("Choose the category")
        listed = (info.context or {}).get("categories")
        if listed is not None and slug not in listed:
            raise _refuse("Choose a category from the list")
        return slug

    @field_validator("hours")
    @classmethod
    def _hours_entered(cls, hours: EnteredHours | None) -> EnteredHours:
        if hours is None:
            raise _refuse("Enter the opening hours of at least one day")
        return hours

    @field_validator("logo_id")
    @classmethod
    def _not_entered(cls, value: str | None, info: ValidationInfo) -> None:
        # The snapshot adds it; the form never sets it (customers_save_business would
        # refuse it as an unknown field).
        if value is not None:
            raise _refuse(f"{info.field_name} is not a form field")
        return
