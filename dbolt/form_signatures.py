"""A form signature's digest: what is stored next to the signature (jsonb) and compared to
notice that a directory's form changed (docs/recipes.md, "Form signatures").

The signature itself is read from a page by the worker (worker/scout/signature.py); the
digest lives here, in the shared library, so every service compares digests the same way.
The stored signatures are checked against directories.json here too, without a browser
(`make directories-check`); against the live sandbox by devstack/sandbox/signatures.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from dbolt.directories import DEFAULT_DIRECTORIES


def canonical_json(sig: dict[str, Any]) -> str:
    """The one text a signature has: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(sig, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def signature_digest(sig: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON (sort_keys, separators=(',', ':'))."""
    return hashlib.sha256(canonical_json(sig).encode("utf-8")).hexdigest()


def signatures_dir(catalogue: Path) -> Path:
    """Where a catalogue's stored signatures are: directories/signatures/ next to it,
    <id>.json = {"id", "url_path", "digest", "signature"}, written by
    `python -m devstack.sandbox.signatures --write` for the sandbox sites."""
    return catalogue.parent / "directories" / "signatures"


SIGNATURES_DIR = signatures_dir(DEFAULT_DIRECTORIES)
# The drift site's recipe is stale on purpose: its test proves the worker reports recipe_drift.
STALE_ON_PURPOSE = {"sandbox-drift": frozenset({"biz-name"})}
CAPTCHA_KINDS = frozenset({"none", "image", "recaptcha_v2", "hcaptcha", "turnstile"})
_ACTING = frozenset({"fill", "select", "check", "upload", "click", "submit", "captcha"})
_ID = re.compile(r"#([A-Za-z][\w-]*)")


def stored_signature(entry_id: str, directory: Path = SIGNATURES_DIR) -> dict[str, Any] | None:
    path = directory / f"{entry_id}.json"
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _recipe_ids(recipe: dict[str, Any]) -> set[str]:
    """The #ids a one-form recipe's steps act on. Not a `wait_for` or `expect` (they wait for
    what the page becomes), nor the captcha image (a signature names the captcha's kind)."""
    ids: set[str] = set()
    for step in recipe.get("steps") or []:
        if step.get("action") not in _ACTING:
            continue
        for key in ("selector", "input"):
            ids.update(_ID.findall(str(step.get(key) or "")))
    return ids


def _signature_ids(signature: dict[str, Any]) -> set[str]:
    ids = {form["id"] for form in signature["forms"]}
    for form in signature["forms"]:
        ids |= {field["id"] for field in form["fields"]} | {b["id"] for b in form["buttons"]}
        ids |= set(form["containers"])
    return ids - {""}


def recipe_signature_problems(
    entries: list[dict[str, Any]], directory: Path = SIGNATURES_DIR
) -> list[str]:
    """Each entry with a stored signature against it, without a browser: the digest is the
    signature's, the entry's captcha kind and account requirement are what the page shows,
    and every #id its recipe fills or clicks is on the signed page."""
    if not directory.is_dir():
        # Else a check run from the wrong place would pass having compared nothing.
        return [f"no stored form signatures at {directory}"]
    problems: list[str] = []
    for entry in entries:
        document = stored_signature(entry["id"], directory)
        if document is None:
            continue
        where = f"{entry['id']} ({directory / (entry['id'] + '.json')})"
        signature = document["signature"]
        if signature_digest(signature) != document["digest"]:
            problems.append(f"{where}: the stored digest is not its signature's digest")
        kind = entry.get("captcha_kind")
        if kind in CAPTCHA_KINDS and kind != signature["captcha"]:
            problems.append(
                f"{where}: captcha_kind is {kind!r}, the page shows {signature['captcha']!r}"
            )
        walled = {"login", "signup"} & set(signature["walls"])
        requirements = entry.get("requirements")
        if walled and requirements is not None and "account" not in requirements:
            problems.append(
                f"{where}: the page is behind a {' and '.join(sorted(walled))} wall; "
                "requirements must list 'account'"
            )
        recipe = entry.get("recipe")
        has_form = any(form["purpose"] == "listing" for form in signature["forms"])
        if entry.get("mode") != "recipe" or not isinstance(recipe, dict) or not has_form:
            continue
        missing = _recipe_ids(recipe) - _signature_ids(signature)
        missing -= STALE_ON_PURPOSE.get(entry["id"], frozenset())
        problems += [
            f"{where}: recipe selector #{name} is not on the signed page"
            for name in sorted(missing)
        ]
    return problems
