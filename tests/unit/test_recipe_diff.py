"""The staff page's diff of recipe steps (portal/staff/recipe_diff.py): steps said in words,
a step replaced in place is "changed" naming what changed, inserts and removals keep their
order, and a recipe of phases is compared phase by phase."""

from __future__ import annotations

from portal.staff.recipe_diff import diff_recipes, diff_steps, say

GOTO = {"action": "goto", "url": "{submit_url}"}
NAME = {"action": "fill", "selector": "#name", "value": "business_name"}
PHONE = {"action": "fill", "selector": "#phone", "value": "phone", "transform": "phone_digits"}
SUBMIT = {"action": "submit", "selector": "#go"}


def test_steps_are_said_in_words() -> None:
    assert say(NAME) == "type business_name into #name"
    assert say(PHONE) == "type phone into #phone (transform phone_digits)"
    assert say({"action": "check", "selector": "#terms", "consent": True}) == (
        "tick #terms (the consent box)"
    )
    assert say({"action": "captcha", "kind": "turnstile"}) == "solve the turnstile captcha"
    assert say({"action": "teleport"}) == '{"action": "teleport"}'


def test_changed_added_and_removed_steps_in_order() -> None:
    renamed = NAME | {"selector": "#company"}
    click = {"action": "click", "selector": "#agree"}
    rows = diff_steps([GOTO, NAME, PHONE, SUBMIT], [GOTO, renamed, click, SUBMIT])
    assert [r["kind"] for r in rows] == ["same", "changed", "changed", "same"]
    assert rows[1]["changes"] == ['selector: "#name" → "#company"']
    rows = diff_steps([GOTO, NAME, PHONE, SUBMIT], [GOTO, PHONE, SUBMIT, click])
    assert [(r["kind"], r["old_number"], r["new_number"]) for r in rows] == [
        ("same", 1, 1),
        ("removed", 2, None),
        ("same", 3, 2),
        ("same", 4, 3),
        ("added", None, 4),
    ]


def test_phases_are_compared_one_by_one() -> None:
    old = {"phases": {"login": {"steps": [GOTO]}, "submit": {"steps": [NAME, SUBMIT]}}}
    new = {"phases": {"submit": {"steps": [NAME, PHONE, SUBMIT]}}}
    sections = {s["name"]: s for s in diff_recipes(old, new)}
    assert sections["submit"]["changed"] == 1
    assert [r["kind"] for r in sections["login"]["rows"]] == ["removed"]
    assert diff_recipes({"steps": [GOTO]}, {"steps": [GOTO]})[0]["changed"] == 0
