"""Recipes: the declarative steps of docs/recipes.md, parsed and checked before any browser
work, so a malformed entry fails with the step and field named."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from worker.business import ATTRIBUTE_NAMES, TRANSFORMS, VALUE_FIELDS


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
        if self.value is not None and self.value not in VALUE_FIELDS:
            raise ValueError(f"value must be a business field ({', '.join(VALUE_FIELDS)})")
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


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: list[Step] = Field(min_length=1)
    frame: str | None = None


class RecipeError(ValueError):
    """The recipe is malformed; the message names each bad step and field."""


_RECIPE = TypeAdapter(Recipe)


def parse_recipe(data: Any) -> Recipe:
    try:
        return _RECIPE.validate_python(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"] if part not in {"function-after"})
            problems.append(f"recipe.{location}: {item['msg']}")
        raise RecipeError("; ".join(problems)) from error
