"""The staff scout page's words and shapes: a scout's progress, the walls and the captcha in
plain words, the form's fields, the recipe draft as JSON and the unmapped required fields,
the screenshots by number (served from ARTIFACTS_DIR, never by a path from the URL), and
the directories.json entry to paste once the draft was saved as a disabled entry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dbolt.directory_export import entry_json
from dbolt.words import count_of

WALLS = {
    "login": "a login wall: the form shows only to a signed-in account, so the recipe needs "
    "a login phase (and the directory an account)",
    "signup": "a sign-up wall: an account has to be created before listing, so the recipe "
    "needs a sign-up phase",
    "bot": "a bot wall (Cloudflare or similar): the site checks for a real browser before "
    "showing the page; a worker may need a proxy or may not get through at all",
}
CAPTCHAS = {
    "none": "no captcha seen",
    "image": "an image captcha (distorted text typed into a box), solved through 2Captcha",
    "recaptcha_v2": "Google reCAPTCHA v2 (a token captcha), solved through 2Captcha",
    "hcaptcha": "hCaptcha (a token captcha), solved through 2Captcha",
    "turnstile": "Cloudflare Turnstile (a token captcha), solved through 2Captcha",
}
STATUS = {
    "queued": "queued: waiting for a worker to take it",
    "running": "running: a worker is scouting the page",
    "done": "done",
    "failed": "failed: the page could not be scouted",
    "refused": "refused: a worker may not open this address",
}
WAITING = ("queued", "running")


def wall_words(walls: list[str]) -> list[str]:
    return [WALLS.get(wall, f"a {wall} wall") for wall in walls]


def detail(scout: Mapping[str, Any], saved: Mapping[str, Any] | None) -> dict[str, Any]:
    """One scout as the page shows it; `saved`: the directory row it was saved as, if any."""
    result: dict[str, Any] = scout.get("result") or {}
    draft: dict[str, Any] = result.get("draft") or {}
    recipe = draft.get("recipe")
    unmapped = list(draft.get("unmapped_required") or [])
    steps = result.get("steps") or {}
    screenshots = list(scout.get("screenshots") or [])
    return {
        "scout": scout,
        "status_words": STATUS.get(str(scout["status"]), str(scout["status"])),
        "waiting": scout["status"] in WAITING,
        "walls": wall_words(list(result.get("walls") or [])),
        "captcha": CAPTCHAS.get(str(result.get("captcha")), str(result.get("captcha") or "")),
        "captcha_kind": result.get("captcha"),
        "fields": list(result.get("form_fields") or []),
        "recipe_json": None if recipe is None else json.dumps(recipe, indent=2, ensure_ascii=False),
        "mode": "auto" if recipe is None else "recipe",
        "unmapped_required": unmapped,
        "unmapped_said": count_of(len(unmapped), "required field") + " not mapped",
        "review": list(draft.get("review") or []),
        "steps_said": (
            f"{count_of(int(steps['seen']), 'form step')} seen; the dry run reached step "
            f"{steps['reached']}" + (f" ({steps['stopped']})" if steps.get("stopped") else "")
            if steps.get("seen") is not None
            else None
        ),
        "not_sent": list(result.get("not_sent") or []),
        "screenshots": list(range(len(screenshots))),
        "digest": result.get("digest"),
        "saved_json": None if saved is None else entry_json(saved),
    }
