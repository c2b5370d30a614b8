"""A recipe's `block` list: only the known kinds, and never what its captcha needs."""

from __future__ import annotations

from typing import Any

import pytest

from worker.recipe import RecipeError, parse_recipe

STEPS: list[dict[str, Any]] = [
    {"action": "goto"},
    {"action": "submit", "selector": "button"},
]


def _captcha(kind: str) -> dict[str, Any]:
    if kind == "image":
        return {"action": "captcha", "kind": "image", "image": "img#c", "input": "#answer"}
    return {"action": "captcha", "kind": kind}


def test_nothing_is_blocked_by_default() -> None:
    assert parse_recipe({"steps": STEPS}).block == []


def test_the_kinds_a_recipe_may_block() -> None:
    recipe = parse_recipe({"steps": STEPS, "block": ["image", "font", "media", "third_party"]})
    assert recipe.block == ["image", "font", "media", "third_party"]
    with pytest.raises(RecipeError, match="block"):
        parse_recipe({"steps": STEPS, "block": ["stylesheet"]})


@pytest.mark.parametrize(
    ("kind", "needs"),
    [("image", "image"), ("recaptcha_v2", "third_party"), ("turnstile", "third_party")],
)
def test_a_captcha_keeps_what_it_needs(kind: str, needs: str) -> None:
    steps = [STEPS[0], _captcha(kind), STEPS[1]]
    with pytest.raises(RecipeError, match=f"captcha needs {needs}"):
        parse_recipe({"steps": steps, "block": [needs]})
    phases = {"phases": {"submit": {"steps": steps}}, "block": [needs]}
    with pytest.raises(RecipeError, match=f"captcha needs {needs}"):
        parse_recipe(phases)
    other = "font" if needs == "third_party" else "third_party"
    assert parse_recipe({"steps": steps, "block": [other]}).block == [other]
