"""A recipe draft from a form signature: every field the generic filler's judgement
(worker/automap.py) can name becomes a step; whatever it cannot name is listed for staff,
required fields first. A draft is a proposal to review, never a verified recipe: its entry
stays disabled until someone has checked it against the site (docs/recipes.md)."""

from __future__ import annotations

import re
from typing import Any

from worker.automap import CONSENT, FieldInfo, business_field_for
from worker.scout.css import css_string, plain_id

_NOT_FILLED = ("hidden", "submit", "button", "image", "reset", "password")
_LOGO = re.compile(r"\b(logo|image|photo|picture)\b")
_FULL_ADDRESS = re.compile(r"\b(full|complete) address\b")
# Where a token widget keeps its answer: the captcha step fills these, not a field step.
_CAPTCHA_HOLDER = re.compile(r"^(g-recaptcha|h-captcha|cf-turnstile)-response$")
# A box or choice that asks one of the customer's yes/no answers (dbolt/business.py Attributes).
_ATTRIBUTE_HINTS = {
    "storefront": re.compile(r"\bstorefront\b|\bshop or storefront\b"),
    "service_area": re.compile(r"\bservice ?area\b"),
    "takeaway": re.compile(r"\b(take ?away|take ?out)\b"),
    "delivery": re.compile(r"\bdeliver(y|ies)?\b"),
    "catering": re.compile(r"\bcater(ing)?\b"),
    "free_wifi": re.compile(r"\bwi ?fi\b"),
}
# One weekday's opening time, closing time or "closed" box (the hours_<day>_* transforms).
_DAY_PART = re.compile(
    r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b.*?\b(open|opens|close|closes|closed)\b"
)
_PRIORITY = {"listing": 0, "signup": 1, "login": 2, "search": 3, "other": 4}


def field_selector(field: dict[str, Any]) -> str:
    """The most stable handle a page offers for the field: its id, its name, its placeholder."""
    if plain_id(field["id"]):
        return f"#{field['id']}"
    if field["name"] and "*" not in field["name"]:
        selector = f"[name={css_string(field['name'])}]"
        if field["type"] in ("radio", "checkbox") and field.get("value"):
            selector += f"[value={css_string(field['value'])}]"
        return selector
    if field.get("placeholder"):
        return f"[placeholder={css_string(field['placeholder'])}]"
    if field.get("aria_label"):
        return f"[aria-label={css_string(field['aria_label'])}]"
    return ""


def button_selector(button: dict[str, Any]) -> str:
    if plain_id(button["id"]):
        return f"#{button['id']}"
    if button["type"] in ("submit", "image") and not button["text"]:
        return "[type=submit]"
    # :visible: a multi-step form repeats "Next" in every (hidden) step.
    return f"button:has-text({css_string(button['text'])}):visible"


def _info(field: dict[str, Any]) -> FieldInfo:
    tag = field["type"] if field["type"] in ("textarea",) else "input"
    if field["type"].startswith("select"):
        tag = "select"
    return FieldInfo(
        index=0,
        tag=tag,
        type=field["type"],
        name=field["name"],
        id=field["id"],
        autocomplete=field.get("autocomplete", ""),
        label=field.get("label", ""),
        placeholder=field.get("placeholder", ""),
        aria_label=field.get("aria_label", ""),
        required=field["required"],
    )


def _step_for(field: dict[str, Any], selector: str) -> tuple[dict[str, Any] | None, str]:
    """The recipe step that fills the field, and why (or None and why not)."""
    info = _info(field)
    kind = field["type"]
    step: dict[str, Any]
    if kind == "file":
        if _LOGO.search(info.hints()):
            step = {"action": "upload", "selector": selector, "value": "logo_url"}
            if not field["required"]:
                step["optional"] = True
            return step, "a logo upload"
        return None, "a file the business has no value for"
    day_part = _DAY_PART.search(info.hints())
    if day_part and kind in ("time", "text", "checkbox"):
        day, part = day_part.group(1), day_part.group(2)
        part = "closed" if part == "closed" else ("open" if part.startswith("open") else "close")
        if (kind == "checkbox") == (part == "closed"):
            action = "check" if kind == "checkbox" else "fill"
            step = {"action": action, "selector": selector, "value": "hours"}
            return step | {"transform": f"hours_{day}_{part}"}, f"the {day} opening hours"
    if kind in ("checkbox", "radio"):
        if kind == "checkbox" and CONSENT.search(info.hints()):
            return {"action": "check", "selector": selector, "consent": True}, "a consent box"
        words = f"{info.hints()} {field.get('value', '')}".replace("-", " ").replace("_", " ")
        for attribute, pattern in _ATTRIBUTE_HINTS.items():
            if pattern.search(words):
                step = {"action": "check", "selector": selector, "attribute": attribute}
                return step, f"the {attribute} answer"
        return None, "a box or choice: map it to an attribute by hand, if any fits"
    business_field, reason = business_field_for(info)
    if business_field is None:
        return None, reason
    step = {
        "action": "select" if kind.startswith("select") else "fill",
        "selector": selector,
        "value": business_field,
    }
    if business_field == "street_address" and _FULL_ADDRESS.search(info.hints()):
        step["transform"] = "full_address"
    elif business_field == "country" and step["action"] == "fill" and "code" not in info.hints():
        step["transform"] = "country_name"
    elif business_field == "phone" and re.fullmatch(r"\[0-9\]\{10\}|\\d\{10\}", field["pattern"]):
        step["transform"] = "phone_digits"
    elif business_field == "website" and "domain" in info.hints():
        step["transform"] = "website_host"
    if not field["required"]:
        step["optional"] = True
    return step, reason


def main_form(signature: dict[str, Any]) -> dict[str, Any] | None:
    """The form a recipe would fill: the listing form, or else whatever stands in front of it."""
    forms = [form for form in signature["forms"] if form["purpose"] != "other"]
    forms.sort(key=lambda form: (_PRIORITY[form["purpose"]], -len(form["fields"])))
    return forms[0] if forms else None


def _captcha_step(signature: dict[str, Any], form: dict[str, Any]) -> dict[str, Any] | None:
    kind = signature["captcha"]
    if kind == "none":
        return None
    if kind != "image":
        return {"action": "captcha", "kind": kind}
    answer = next(
        (
            f
            for f in form["fields"]
            if re.search(r"captcha|digits|code", f["id"] + f["label"], re.I)
        ),
        None,
    )
    return {
        "action": "captcha",
        "kind": "image",
        "image": "img[id*=captcha i], img[class*=captcha i], img[src*=captcha i]",
        "input": field_selector(answer) if answer else "",
    }


def draft_recipe(signature: dict[str, Any]) -> dict[str, Any]:
    """`{"recipe": {...} | None, "mapped": [...], "unmapped_required": [...],
    "unmapped_optional": [...], "review": [...]}` — what staff review before saving."""
    form = main_form(signature)
    review: list[str] = []
    if signature.get("cut"):
        review.append(f"{signature['cut']}: the form may hold more than this draft shows")
    if signature["walls"]:
        review.append(f"behind a wall ({', '.join(signature['walls'])}): a recipe needs phases")
    if form is None:
        return {
            "recipe": None,
            "mapped": [],
            "unmapped_required": [],
            "unmapped_optional": [],
            "review": [*review, "no form found"],
        }
    steps: list[dict[str, Any]] = [{"action": "goto", "url": "{submit_url}"}]
    mapped: list[dict[str, Any]] = []
    unmapped: list[dict[str, Any]] = []
    used: set[str] = set()
    captcha = _captcha_step(signature, form)
    captcha_input = captcha.get("input") if captcha else None
    for number in range(1, form["steps"] + 1):
        for field in form["fields"]:
            if field["step"] != number or field["type"] in _NOT_FILLED:
                continue
            if _CAPTCHA_HOLDER.match(field["name"]):
                continue
            selector = field_selector(field)
            if selector and selector == captcha_input:
                continue
            step, reason = _step_for(field, selector) if selector else (None, "no stable selector")
            value = step.get("value") if step else None
            if step is not None and value not in (None, "hours") and value in used:
                step, reason = None, f"{value} is already filled elsewhere"
            described = {
                "label": field.get("label") or field.get("placeholder") or field["name"],
                "name": field["name"],
                "type": field["type"],
                "selector": selector,
                "required": field["required"],
            }
            if step is None:
                unmapped.append(described | {"why": reason})
                continue
            if value is not None:
                used.add(str(value))
            steps.append(step)
            mapped.append(described | {"value": value, "step": step, "reason": reason})
        next_button = next(
            (b for b in form["buttons"] if b["role"] == "next" and b["step"] == number), None
        )
        if number < form["steps"] and next_button is not None:
            steps.append({"action": "click", "selector": button_selector(next_button)})
    if captcha is not None:
        steps.append(captcha)
    submit = next((b for b in form["buttons"] if b["role"] == "submit"), None)
    if submit is None:
        review.append("no submit button found")
    else:
        steps.append({"action": "submit", "selector": button_selector(submit)})
    # Unknown until a real submission: the confirmation's selector is staff's to fill in.
    steps.append({"action": "expect", "success": ".confirmation"})
    review.append("expect.success: the confirmation's selector is a guess")
    recipe: dict[str, Any] = {"steps": steps}
    if form["frame"] != "main":
        recipe["frame"] = form["frame"]
    if form["purpose"] != "listing":
        review.append(f"the form found is a {form['purpose']} form, not a listing form")
    # A required radio group is answered once one of its choices is mapped.
    answered = {m["name"] for m in mapped if m["type"] == "radio"}
    for item in unmapped:
        if item["type"] == "radio" and item["name"] in answered:
            item["required"] = False
            item["why"] = "another choice of its group is mapped"
    return {
        "recipe": recipe,
        "mapped": mapped,
        "unmapped_required": [u for u in unmapped if u["required"]],
        "unmapped_optional": [u for u in unmapped if not u["required"]],
        "review": review,
    }
