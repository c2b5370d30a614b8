"""A recipe's change as staff read it (issue 17, item 5): the steps the last
`directories_sync` replaced against the current ones, step by step — added, removed,
changed (naming what changed) or the same — each step said in words ("type business_name
into #name") with its JSON beside it. A recipe of phases is compared phase by phase."""

from __future__ import annotations

import difflib
import json
from typing import Any

_SAID = {
    "goto": "open {url}",
    "fill": "type {value} into {selector}",
    "select": "choose {value} in {selector}",
    "check": "tick {selector}",
    "click": "click {selector}",
    "upload": "upload {value} to {selector}",
    "captcha": "solve the {kind} captcha",
    "submit": "submit with {selector}",
    "expect": "expect {success}",
    "wait": "wait for {selector}",
}


def say(step: Any) -> str:
    """One step in words; the JSON when it is not a step this page knows."""
    if not isinstance(step, dict):
        return json.dumps(step)
    action = str(step.get("action", ""))
    template = _SAID.get(action)
    if template is None:
        return json.dumps(step, sort_keys=True)
    values = {key: step.get(key, "?") for key in ("url", "value", "selector", "kind", "success")}
    if action == "fill" and "literal" in step:
        values["value"] = json.dumps(step["literal"])
    text = template.format(**values)
    extras = [f"{key} {step[key]}" for key in ("transform", "attribute") if key in step]
    if step.get("consent"):
        extras.append("the consent box")
    if step.get("optional"):
        extras.append("optional")
    return f"{text} ({', '.join(extras)})" if extras else text


def sections(recipe: Any) -> dict[str, list[Any]]:
    """The recipe's step lists by name: `steps`, or one per phase."""
    if not isinstance(recipe, dict):
        return {}
    if isinstance(recipe.get("steps"), list):
        return {"steps": list(recipe["steps"])}
    phases = recipe.get("phases")
    if not isinstance(phases, dict):
        return {}
    return {
        name: list(phase.get("steps") or [])
        for name, phase in phases.items()
        if isinstance(phase, dict)
    }


def _key(step: Any) -> str:
    return json.dumps(step, sort_keys=True)


def _changes(old: Any, new: Any) -> list[str]:
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    return [
        f"{key}: {json.dumps(old.get(key))} → {json.dumps(new.get(key))}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _row(kind: str, old: tuple[int, Any] | None, new: tuple[int, Any] | None) -> dict[str, Any]:
    return {
        "kind": kind,
        "old_number": None if old is None else old[0] + 1,
        "new_number": None if new is None else new[0] + 1,
        "old": None if old is None else say(old[1]),
        "new": None if new is None else say(new[1]),
        "old_json": None if old is None else json.dumps(old[1], sort_keys=True),
        "new_json": None if new is None else json.dumps(new[1], sort_keys=True),
        "changes": [] if old is None or new is None else _changes(old[1], new[1]),
    }


def diff_steps(old: list[Any], new: list[Any]) -> list[dict[str, Any]]:
    """Rows in order: same, added, removed, changed (a step replaced in place)."""
    rows: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=[_key(s) for s in old], b=[_key(s) for s in new])
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [
                _row("same", (a, old[a]), (b, new[b]))
                for a, b in zip(range(a1, a2), range(b1, b2), strict=True)
            ]
            continue
        pairs = min(a2 - a1, b2 - b1) if tag == "replace" else 0
        rows += [
            _row("changed", (a1 + i, old[a1 + i]), (b1 + i, new[b1 + i])) for i in range(pairs)
        ]
        rows += [_row("removed", (a, old[a]), None) for a in range(a1 + pairs, a2)]
        rows += [_row("added", None, (b, new[b])) for b in range(b1 + pairs, b2)]
    return rows


def diff_recipes(old: Any, new: Any) -> list[dict[str, Any]]:
    """Each section (steps, or each phase) with its rows and how many changed."""
    before, after = sections(old), sections(new)
    result = []
    for name in list(after) + [n for n in before if n not in after]:
        rows = diff_steps(before.get(name, []), after.get(name, []))
        changed = sum(1 for row in rows if row["kind"] != "same")
        result.append({"name": name, "rows": rows, "changed": changed})
    return result
