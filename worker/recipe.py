"""Recipes: the declarative steps of docs/recipes.md, parsed and checked before any browser
work, so a malformed entry fails with the phase, step and field named.

A recipe is either one list of `steps` (a one-form site) or `phases` (the listing lifecycle:
lookup, signup, verify_email, login, submit, claim, confirm, live_check; worker/phases.py)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from worker.business import ATTRIBUTE_NAMES, TRANSFORMS, VALUE_FIELDS

# Values a phase fills from outside the business: the directory account the orchestrator
# opened (docs/recipes.md) and the code read from the directory's email. The password is
# typed only into a password field and never said, logged or kept (worker/phases.py).
ACCOUNT_VALUES: tuple[str, ...] = ("account_login", "account_password", "verification_code")
SECRET_VALUES = frozenset({"account_password"})


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    optional: bool = False


class _ValueStep(_Step):
    selector: str = Field(min_length=1)
    value: str | None = None
    literal: str | None = None
    transform: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _ValueStep:
        # Whole-business transforms (hours of a day, full address) need no source field.
        derived = self.transform is not None and (
            self.transform.startswith("hours_") or self.transform == "full_address"
        )
        if not derived and (self.value is None) == (self.literal is None):
            raise ValueError("give exactly one of value or literal")
        if self.value is not None and self.value not in (*VALUE_FIELDS, *ACCOUNT_VALUES):
            raise ValueError(
                f"value must be a business field ({', '.join(VALUE_FIELDS)}) or one of the "
                f"account's ({', '.join(ACCOUNT_VALUES)})"
            )
        if self.value in ACCOUNT_VALUES and (self.transform or self.literal is not None):
            raise ValueError(f"{self.value} is typed as it is: no transform or literal")
        if self.transform is not None and self.transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {self.transform!r}")
        return self


class Goto(_Step):
    action: Literal["goto"]
    url: str = "{submit_url}"


class Fill(_ValueStep):
    action: Literal["fill"]


class Select(_ValueStep):
    action: Literal["select"]


class Check(_Step):
    """Ticks a box from the business, never from the recipe: a business attribute the
    customer stated (`attribute`), an opening-hours transform (`value` + `transform`), or a
    box that is the site's terms (`consent`: the only one ticked unconditionally). A plumber
    was once listed as offering takeaway because a recipe ticked it as a constant."""

    action: Literal["check"]
    selector: str = Field(min_length=1)
    attribute: str | None = None
    value: str | None = None
    transform: str | None = None
    consent: bool = False

    @model_validator(mode="after")
    def _from_the_business(self) -> Check:
        sources = [self.attribute is not None, self.transform is not None, self.consent]
        if sum(sources) != 1:
            raise ValueError(
                "a check step ticks from exactly one of: attribute (a business attribute: "
                f"{', '.join(ATTRIBUTE_NAMES)}), transform (hours_<day>_closed) or consent: true"
            )
        if self.attribute is not None and self.attribute not in ATTRIBUTE_NAMES:
            raise ValueError(f"attribute must be one of {', '.join(ATTRIBUTE_NAMES)}")
        if self.transform is not None and not (
            self.transform.startswith("hours_") and self.transform.endswith("_closed")
        ):
            raise ValueError("a check step's transform must be hours_<day>_closed")
        if self.value is not None and self.value != "hours":
            raise ValueError("a check step's value can only be hours")
        return self


class Upload(_Step):
    action: Literal["upload"]
    selector: str = Field(min_length=1)
    value: str = "logo_url"


class Click(_Step):
    action: Literal["click"]
    selector: str = Field(min_length=1)


class WaitFor(_Step):
    action: Literal["wait_for"]
    selector: str = Field(min_length=1)
    timeout_ms: int | None = Field(default=None, ge=100, le=120_000)


class Captcha(_Step):
    action: Literal["captcha"]
    kind: Literal["image", "recaptcha_v2", "hcaptcha", "turnstile"]
    image: str | None = None
    input: str | None = None
    sitekey_selector: str | None = None

    @model_validator(mode="after")
    def _image_needs_selectors(self) -> Captcha:
        if self.kind == "image" and not (self.image and self.input):
            raise ValueError("an image captcha needs image and input selectors")
        return self


class Submit(_Step):
    action: Literal["submit"]
    selector: str = Field(min_length=1)


class Expect(_Step):
    action: Literal["expect"]
    success: str | None = None
    listing_url: str | None = None
    duplicate: str | None = None
    verification: str | None = None
    # The site's field errors (each element's text names the field it refused).
    rejected: str | None = None


Step = Annotated[
    Goto | Fill | Select | Check | Upload | Click | WaitFor | Captcha | Submit | Expect,
    Field(discriminator="action"),
]


class PhaseSteps(BaseModel):
    """A phase that is only steps (signup, login, submit, claim)."""

    model_config = ConfigDict(extra="forbid")
    steps: list[Step] = Field(min_length=1)
    frame: str | None = None


def _regex(pattern: str | None, what: str) -> str | None:
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"{what} is not a regular expression: {error}") from None
    return pattern


class LookupResults(BaseModel):
    """Where the search results page shows each result and, inside one, its name, address,
    phone and link (compared with dbolt.nap.compare); `none` marks a page with no results."""

    model_config = ConfigDict(extra="forbid")
    item: str = Field(min_length=1)
    name: str = Field(min_length=1)
    address: str | None = None
    phone: str | None = None
    link: str | None = None
    none: str | None = None


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: list[Step] = Field(min_length=1)
    results: LookupResults


class VerifyEmail(BaseModel):
    """The directory's email: who sends it (an address or @domain), its subject, and where in
    it the link or code is (regexes; group 1 if any). Without `link` or `code` the first link
    to the directory's own host is opened. `steps` run after the link is opened (or to type
    the code, value `verification_code`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    sender: str = Field(alias="from", min_length=1)
    subject: str | None = None
    link: str | None = None
    code: str | None = None
    timeout_hours: float = Field(default=48, gt=0, le=30 * 24)
    steps: list[Step] = Field(default_factory=list)

    @model_validator(mode="after")
    def _patterns(self) -> VerifyEmail:
        _regex(self.link, "link")
        _regex(self.code, "code")
        if self.link and self.code:
            raise ValueError("give link or code, not both")
        typed = any(getattr(step, "value", None) == "verification_code" for step in self.steps)
        if self.code and not typed:
            raise ValueError("a code needs steps that fill value verification_code")
        return self


class Confirm(BaseModel):
    """Reading the listing after the submit (or claim): optional steps to reach it, the
    listing link, and the marker of a listing still in moderation (then the directory is
    parked for `moderation_seconds` and this phase runs again)."""

    model_config = ConfigDict(extra="forbid")
    steps: list[Step] = Field(default_factory=list)
    listing_url: str | None = None
    pending: str | None = None
    moderation_seconds: int = Field(default=3600, ge=1, le=30 * 24 * 3600)


class LiveCheck(BaseModel):
    """Selectors of the listing page's name, address and phone, for the live checks."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    address: str | None = None
    phone: str | None = None
    # The page renders the listing with scripts: read it in Chromium (worker/live_checks.py).
    browser: bool = False


class Phases(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lookup: Lookup | None = None
    signup: PhaseSteps | None = None
    verify_email: VerifyEmail | None = None
    login: PhaseSteps | None = None
    submit: PhaseSteps | None = None
    claim: PhaseSteps | None = None
    confirm: Confirm | None = None
    live_check: LiveCheck | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Phases:
        if self.submit is None and self.claim is None:
            raise ValueError("phases need submit (or at least claim)")
        if self.verify_email is not None and self.signup is None:
            raise ValueError("verify_email follows signup: add a signup phase")
        if self.claim is not None and self.lookup is None:
            raise ValueError("claim takes over what lookup found: add a lookup phase")
        for name in ("lookup", "signup", "verify_email", "login", "confirm"):
            phase = getattr(self, name)
            for number, step in enumerate(phase.steps if phase else [], start=1):
                if isinstance(step, Expect):
                    # Only the submit or claim says what the directory answered.
                    raise ValueError(
                        f"{name} step {number}: expect belongs in submit or claim; "
                        "check a page with wait_for"
                    )
        for name in ("lookup", "verify_email", "submit", "claim", "confirm"):
            phase = getattr(self, name)
            for number, step in enumerate(phase.steps if phase else [], start=1):
                if getattr(step, "value", None) == "account_password":
                    raise ValueError(
                        f"{name} step {number}: account_password is typed in signup or login only"
                    )
        return self


Blockable = Literal["image", "font", "media", "third_party"]


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: list[Step] | None = Field(default=None, min_length=1)
    frame: str | None = None
    phases: Phases | None = None
    # What the browser may skip on this site (worker/request_blocking.py); nothing by default.
    block: list[Blockable] = Field(default_factory=list)

    def form_steps(self) -> list[Step]:
        """The steps that send the business: the one form, or the submit and claim phases."""
        if self.phases is None:
            return list(self.steps or [])
        return [
            step
            for phase in (self.phases.submit, self.phases.claim)
            if phase is not None
            for step in phase.steps
        ]

    @model_validator(mode="after")
    def _steps_or_phases(self) -> Recipe:
        if (self.steps is None) == (self.phases is None):
            raise ValueError("give either steps (one form) or phases")
        return self

    @model_validator(mode="after")
    def _captchas_keep_what_they_need(self) -> Recipe:
        # An image captcha is an image; reCAPTCHA, hCaptcha and Turnstile are third-party
        # scripts. Blocking them would fail every attempt at the captcha.
        steps = list(self.steps or [])
        if self.phases is not None:
            for phase in (
                self.phases.lookup,
                self.phases.signup,
                self.phases.verify_email,
                self.phases.login,
                self.phases.submit,
                self.phases.claim,
                self.phases.confirm,
            ):
                steps += list(phase.steps) if phase is not None else []
        for step in steps:
            if isinstance(step, Captcha):
                needs = "image" if step.kind == "image" else "third_party"
                if needs in self.block:
                    raise ValueError(f"a {step.kind} captcha needs {needs}: do not block it")
        return self


class RecipeError(ValueError):
    """The recipe is malformed; the message names each bad step and field."""


_RECIPE = TypeAdapter(Recipe)


def parse_recipe(data: Any) -> Recipe:
    try:
        return _RECIPE.validate_python(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            location = ".".join(str(part) for part in _location(item["loc"]))
            problems.append(
                f"{'.'.join(['recipe', location]) if location else 'recipe'}: {item['msg']}"
            )
        raise RecipeError("; ".join(problems)) from error


def _location(loc: tuple[int | str, ...]) -> list[int | str]:
    """The error's path as a recipe author reads it: `phases.signup.steps.2.selector`
    (pydantic's union branch names left out)."""
    return [part for part in loc if not (isinstance(part, str) and "function-after" in part)]
