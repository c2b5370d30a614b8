"""A form signature: what a recipe depends on in a directory's page, as plain JSON.

`page_signature(page, response)` reads a loaded Playwright page (every frame) and returns the
forms and their fields, the walls in front of them (login, sign-up, bot), the captcha kind,
the multi-step navigation and the iframes holding forms. `signature_digest(sig)` is the sha256
of its canonical JSON: stored with the signature (jsonb) and compared to notice drift.

Deterministic on purpose: the same page gives the same signature, so a changed digest means a
changed form. Values are never read (a hidden CSRF token changes on every load), ids, names
and URLs have random-looking runs replaced by `*`, URLs keep only their path, and every list
is sorted. The shape is documented in docs/recipes.md ("Form signatures").
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Frame, Page, Response

# The digest is the shared library's: every service compares digests the same way.
from dbolt.form_signatures import canonical_json, signature_digest
from worker.scout.css import css_string, plain_id

__all__ = ["canonical_json", "page_signature", "signature_digest", "stable"]

SIGNATURE_VERSION = 1

# Token captchas live in frames of their own hosts; their inner forms are not the site's.
CAPTCHA_FRAME_HOSTS = re.compile(r"(recaptcha|google\.com|hcaptcha\.com|challenges\.cloudflare)")
# Runs that differ from one load to the next: long hex or digit runs, UUIDs. A hex run counts
# only with a digit at or after its start within its token (a word like "deadbeefcafe" stays):
# decided per token in `stable`, as one regex with a look-ahead took quadratic time on a long
# run of letters.
_TOKEN = re.compile(r"[0-9a-z_-]+", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_RUN = re.compile(_UUID.pattern + r"|[0-9a-f]{8,}|\d{5,}", re.IGNORECASE)
_BOT_TEXT = re.compile(
    r"checking (your|if the site connection is) (browser|secure)|just a moment\.\.\."
    r"|ddos protection by|attention required!|enable javascript and cookies to continue"
    r"|please verify you are a human|are you a robot",
    re.IGNORECASE,
)
_LOGIN_TEXT = re.compile(r"\b(log ?in|sign ?in)\b", re.IGNORECASE)
_SIGNUP_TEXT = re.compile(
    r"\b(sign ?up|register|create (an |your )?account|join( now)?)\b", re.IGNORECASE
)

# What a scout reads of a page at most: a hostile page can be as large as it likes, and the
# report has to fit the orchestrator's request limit. Whatever is cut is marked "(cut)".
TEXT_LIMIT = 200
LIST_LIMIT = 300
FORM_LIMIT = 50
FRAME_LIMIT = 50
STEP_LIMIT = 50
CUT = "(cut)"

# Collected in each frame. Hidden inputs are named but their values never read. `cut` holds
# what had to be left out (the limits above, passed in).
_COLLECT = """
([TEXT, LIST, FORMS, STEPS, CUT]) => {
  const cut = new Set();
  const cap = s => {
    s = s || '';
    if (s.length <= TEXT) return s;
    cut.add('text'); return s.slice(0, TEXT) + CUT;
  };
  const first = (list, what, limit) => {
    if (list.length <= (limit || LIST)) return list;
    cut.add(what); return list.slice(0, limit || LIST);
  };
  // Read at most a few screens of text: innerText of a huge label costs the page's layout.
  const text = s => cap((s || '').slice(0, TEXT * 20).replace(/\\s+/g, ' ').trim());
  const labelOf = el => {
    if (el.id) {
      const label = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      if (label) return text(label.innerText || label.textContent);
    }
    const wrapping = el.closest('label');
    if (wrapping) return text(wrapping.innerText || wrapping.textContent);
    const by = el.getAttribute('aria-labelledby');
    if (by) return text(by.split(' ').map(id =>
      (document.getElementById(id) || {}).textContent || '').join(' '));
    return '';
  };
  const BUTTONS = 'button, input[type=submit], input[type=button], input[type=image], '
                + 'input[type=reset]';
  const NEXT = /^(next|continue|proceed)\\b/i;
  const BACK = /^(back|previous|prev)\\b/i;
  const kindOf = el => el.tagName === 'SELECT' ? (el.multiple ? 'select-multiple' : 'select')
                     : el.tagName === 'TEXTAREA' ? 'textarea' : (el.type || 'text').toLowerCase();
  const buttonOf = el => {
    const type = cap((el.type || 'submit').toLowerCase());
    const label = text(el.innerText || el.value || el.getAttribute('aria-label') || el.alt);
    const role = (type === 'submit' || type === 'image') ? 'submit'
               : NEXT.test(label) ? 'next' : BACK.test(label) ? 'back' : 'other';
    return {el, text: label, type, role, id: cap(el.id), name: cap(el.getAttribute('name'))};
  };
  const before = (a, b) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  // Controls outside any <form> that still make a form (some sites script their submit).
  const groups = first([...document.forms], 'forms', FORMS)
    .map(form => ({form, controls: [...form.elements]}));
  const loose = [...document.querySelectorAll('input, select, textarea, button')]
    .filter(el => !el.form && !el.closest('form'));
  if (loose.some(el => el.tagName !== 'BUTTON' && el.type !== 'hidden')) {
    groups.push({form: null, controls: loose});
  }
  const forms = groups.map(({form, controls}) => {
    const buttons = first(controls.filter(el => el.matches(BUTTONS)), 'buttons').map(buttonOf);
    const nexts = first(buttons.filter(b => b.role === 'next').map(b => b.el), 'steps', STEPS - 1);
    const stepOf = el => 1 + nexts.filter(n => before(n, el)).length;
    const fields = first(controls.filter(el => el.matches('input, select, textarea')
                                               && !el.matches(BUTTONS)), 'fields')
      .map(el => {
        const type = cap(kindOf(el));
        const field = {type, name: cap(el.getAttribute('name')), id: cap(el.id),
                       required: !!el.required, step: stepOf(el)};
        if (type === 'hidden') return field;
        Object.assign(field, {
          label: labelOf(el), placeholder: cap(el.getAttribute('placeholder')),
          aria_label: cap(el.getAttribute('aria-label')),
          autocomplete: cap((el.getAttribute('autocomplete') || '').toLowerCase()),
          pattern: cap(el.getAttribute('pattern')),
          options: el.tagName === 'SELECT'
            ? first([...el.options], 'options').map(o => ({value: cap(o.value),
                                                            label: text(o.text)})) : [],
        });
        if (type === 'checkbox' || type === 'radio') field.value = cap(el.getAttribute('value'));
        return field;
      });
    // Ids of what holds the controls (a step's fieldset): recipes address steps by them.
    const containers = form ? first([...form.querySelectorAll('[id]')]
      .filter(el => !el.matches('input, select, textarea, button')
                    && el.querySelector('input, select, textarea, button')), 'containers')
      .map(el => cap(el.id)) : [];
    const headings = form ? first([...form.querySelectorAll('h1, h2, h3, legend')], 'headings')
      .map(h => text(h.textContent)).join(' ') : '';
    return {
      id: form ? cap(form.id) : '', name: form ? cap(form.getAttribute('name')) : '',
      method: form ? cap((form.getAttribute('method') || 'get').toLowerCase()) : '',
      action: form ? cap(form.getAttribute('action')) : '',
      headings, fields, containers, steps: nexts.length + 1,
      buttons: buttons.map(b => ({text: b.text, type: b.type, role: b.role, id: b.id,
                                  name: b.name, step: stepOf(b.el)})),
    };
  });
  return {forms, cut: [...cut]};
}
"""
_CAPTCHA = """
() => {
  const has = selector => !!document.querySelector(selector);
  if (has('.cf-turnstile, iframe[src*="challenges.cloudflare.com"]')) return 'turnstile';
  if (has('.h-captcha, iframe[src*="hcaptcha.com"]')) return 'hcaptcha';
  if (has('.g-recaptcha, iframe[src*="recaptcha"]')) return 'recaptcha_v2';
  if (has('img[id*=captcha i], img[class*=captcha i], img[src*=captcha i], img[alt*=captcha i]'))
    return 'image';
  return 'none';
}
"""
_BOT_MARKERS = (
    "#challenge-form, #challenge-running, #challenge-stage, #cf-challenge-running, "
    ".cf-browser-verification, #cf-please-wait"
)
_PAGE_TEXT = """
() => ({title: document.title || '',
        text: (document.body ? document.body.innerText : '').slice(0, 4000)})
"""
_CAPTCHA_ORDER = ("turnstile", "hcaptcha", "recaptcha_v2", "image")


def _stable_token(token: re.Match[str]) -> str:
    text = token.group()
    last_digit = max(text.rfind(digit) for digit in "0123456789")
    kept: list[str] = []
    position = 0
    while position <= last_digit:
        run = _RUN.search(text, position)
        if run is None or run.start() > last_digit:
            break
        kept += [text[position : run.start()], "*"]
        position = run.end()
    # Past the last digit only a UUID (all letters a-f) can still be volatile.
    kept.append(_UUID.sub("*", text[position:]))
    return "".join(kept)


def stable(text: str) -> str:
    """The text with its load-to-load random runs replaced by `*`."""
    return _TOKEN.sub(_stable_token, text)


def stable_path(url: str) -> str:
    """A URL's path only: hosts and ports differ between machines, queries carry tokens."""
    path = stable(urlsplit(url).path)
    return path if len(path) <= TEXT_LIMIT else path[:TEXT_LIMIT] + CUT


def _field(raw: dict[str, Any]) -> dict[str, Any]:
    field = {
        "type": raw["type"],
        "name": stable(raw["name"]),
        "id": stable(raw["id"]),
        "required": bool(raw["required"]),
        "step": int(raw["step"]),
    }
    if raw["type"] == "hidden":
        return field
    field |= {
        "label": raw["label"],
        "placeholder": raw["placeholder"],
        "aria_label": raw["aria_label"],
        "autocomplete": raw["autocomplete"],
        "pattern": raw["pattern"],
        "options": [{"value": o["value"], "label": o["label"]} for o in raw["options"]],
    }
    if "value" in raw:
        field["value"] = raw["value"]
    return field


def form_purpose(form: dict[str, Any]) -> str:
    """`listing`, `login`, `signup`, `search` or `other` (nothing a person fills in)."""
    shown = [f for f in form["fields"] if f["type"] not in ("hidden",)]
    passwords = [f for f in shown if f["type"] == "password"]
    words = " ".join([form["headings"], *(b["text"] for b in form["buttons"]), form["id"]])
    if passwords:
        confirm = any(re.search(r"confirm|repeat|again", f["label"], re.I) for f in passwords)
        if len(passwords) > 1 or confirm or _SIGNUP_TEXT.search(words):
            return "signup"
        return "login"
    if not shown:
        return "other"
    if len(shown) == 1 and (shown[0]["type"] == "search" or shown[0]["name"] in ("q", "s")):
        return "search"
    return "listing"


def _form(raw: dict[str, Any], frame: str) -> dict[str, Any]:
    fields = [_field(f) for f in raw["fields"]]
    fields.sort(key=lambda f: (f["step"], f["name"], f["id"], f.get("value", ""), f["type"]))
    buttons = [
        {
            "text": b["text"],
            "type": b["type"],
            "role": b["role"],
            "id": stable(b["id"]),
            "step": int(b["step"]),
        }
        for b in raw["buttons"]
    ]
    buttons.sort(key=lambda b: (b["step"], b["role"], b["text"], b["id"]))
    form = {
        "frame": frame,
        "id": stable(raw["id"]),
        "name": stable(raw["name"]),
        "method": raw["method"],
        "action": stable_path(raw["action"]) if raw["action"] else "",
        "fields": fields,
        "buttons": buttons,
        "containers": sorted({stable(container) for container in raw["containers"]}),
        "steps": int(raw["steps"]),
        "headings": raw["headings"],
    }
    form["purpose"] = form_purpose(form)
    del form["headings"]  # only read to tell a sign-up from a login
    return form


async def _frame_selector(frame: Frame, index: int) -> str:
    element = await frame.frame_element()
    for attribute in ("id", "name", "title"):
        value = await element.get_attribute(attribute)
        if value and len(value) <= TEXT_LIMIT and stable(value) == value:
            if attribute == "id" and plain_id(value):
                return f"iframe#{value}"
            if attribute != "id":
                return f"iframe[{attribute}={css_string(value)}]"
    return f"iframe >> nth={index}"


def _walls(
    forms: list[dict[str, Any]], bot: bool, status: int | None, title_text: str
) -> list[str]:
    walls = []
    if bot:
        walls.append("bot")
    purposes = {form["purpose"] for form in forms}
    if "listing" not in purposes:
        if "login" in purposes or (status in (401, 403) and _LOGIN_TEXT.search(title_text)):
            walls.append("login")
        if "signup" in purposes:
            walls.append("signup")
    return sorted(walls)


async def page_signature(page: Page, response: Response | None = None) -> dict[str, Any]:
    """The signature of the page as it is now (call it once the page has settled)."""
    forms: list[dict[str, Any]] = []
    iframes: list[dict[str, Any]] = []
    captchas: set[str] = set()
    cut: set[str] = set()
    child_index = 0
    if len(page.frames) > FRAME_LIMIT:
        cut.add("frames")
    for frame in page.frames[:FRAME_LIMIT]:
        if frame is page.main_frame:
            where = "main"
        else:
            if frame.parent_frame is not page.main_frame:
                continue  # frames inside frames: a widget's own, not a form of the site
            where = await _frame_selector(frame, child_index)
            child_index += 1
            if CAPTCHA_FRAME_HOSTS.search(urlsplit(frame.url).hostname or ""):
                continue
        collected: dict[str, Any] = await frame.evaluate(
            _COLLECT, [TEXT_LIMIT, LIST_LIMIT, FORM_LIMIT, STEP_LIMIT, CUT]
        )
        cut.update(collected["cut"])
        frame_forms = [_form(raw, where) for raw in collected["forms"]]
        forms.extend(frame_forms)
        captchas.add(str(await frame.evaluate(_CAPTCHA)))
        if where != "main":
            iframes.append(
                {
                    "selector": where,
                    "path": stable_path(frame.url),
                    "has_form": any(f["purpose"] != "other" for f in frame_forms),
                }
            )
    texts: dict[str, str] = await page.evaluate(_PAGE_TEXT)
    title_text = f"{texts['title']} {texts['text']}"
    headers = response.headers if response is not None else {}
    bot = (
        headers.get("cf-mitigated", "").lower() == "challenge"
        or bool(await page.locator(_BOT_MARKERS).count())
        or bool(_BOT_TEXT.search(title_text))
    )
    status = response.status if response is not None else None
    forms.sort(key=lambda f: (f["frame"], f["purpose"], f["id"], f["name"], f["action"]))
    iframes.sort(key=lambda i: (i["selector"], i["path"]))
    listing_steps = [f["steps"] for f in forms if f["purpose"] == "listing"]
    # Only when something was left out: a page within the limits keeps the digest it had.
    left_out = {"cut": f"{CUT} more than a scout reads: {', '.join(sorted(cut))}"} if cut else {}
    return left_out | {
        "version": SIGNATURE_VERSION,
        "path": stable_path(page.url),
        "status": status,
        "forms": forms,
        "iframes": iframes,
        "captcha": next((kind for kind in _CAPTCHA_ORDER if kind in captchas), "none"),
        "walls": _walls(forms, bot, status, title_text),
        "steps": max(listing_steps, default=0),
    }
