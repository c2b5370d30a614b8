"""A directory's staff page (/staff/directories/<id>): its facts, its recipe's steps in
words, the step-by-step diff against the recipe the last `directories_sync` replaced
(directories.previous_recipe, issue 17 item 5), its latest canary runs and its
directories.json entry. The data come from staff_directory_detail under the staff JWT."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dbolt.directory_export import entry_json
from dbolt.words import count_of
from portal.staff.recipe_diff import diff_recipes, say, sections


def page(detail: Mapping[str, Any]) -> dict[str, Any]:
    directory: dict[str, Any] = dict(detail["directory"])
    recipe = directory.get("recipe")
    previous = directory.get("previous_recipe")
    diff = diff_recipes(previous, recipe) if previous is not None else []
    changed = sum(section["changed"] for section in diff)
    runs = list(detail.get("canary_runs") or [])
    state = (
        "drifted"
        if directory.get("drifted_at")
        else (
            "enabled"
            if directory.get("enabled") and not directory.get("staff_disabled_at")
            else "disabled"
        )
    )
    return {
        "directory": directory,
        "state": state,
        "recipe_sections": {
            name: [{"said": say(step), "json": json.dumps(step, sort_keys=True)} for step in steps]
            for name, steps in sections(recipe).items()
        },
        "recipe_json": None if recipe is None else json.dumps(recipe, indent=2, ensure_ascii=False),
        "diff": diff,
        "diff_said": count_of(changed, "step") + " changed",
        "canary_runs": runs,
        "canary_runs_said": count_of(len(runs), "canary run"),
        "entry_json": entry_json(directory),
    }
